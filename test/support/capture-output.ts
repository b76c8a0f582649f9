/** Runs fn while capturing what is written to stdout and stderr (Powertools logs and EMF metrics). */
import { vi } from "vitest";

export interface Captured<T> {
  readonly result?: T;
  readonly error?: unknown;
  /** Every line written, parsed as JSON where it is JSON. */
  readonly stdout: unknown[];
  readonly stderr: unknown[];
}

const parse = (chunks: string[]) =>
  chunks
    .join("")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return l;
      }
    });

export async function captureOutput<T>(fn: () => Promise<T>): Promise<Captured<T>> {
  const out: string[] = [];
  const err: string[] = [];
  const spy = (stream: NodeJS.WriteStream, into: string[]) =>
    vi.spyOn(stream, "write").mockImplementation(((chunk: unknown) => {
      into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return true;
    }) as typeof stream.write);
  const spies = [spy(process.stdout, out), spy(process.stderr, err)];
  try {
    const result = await fn();
    return { result, stdout: parse(out), stderr: parse(err) };
  } catch (error) {
    return { error, stdout: parse(out), stderr: parse(err) };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

/** The EMF documents (CloudWatch embedded metric format) among captured lines. */
export type Emf = {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
} & Record<string, unknown>;

export const emfDocuments = (lines: readonly unknown[]): Emf[] =>
  lines.filter((l): l is Emf => typeof l === "object" && l !== null && "_aws" in l);
