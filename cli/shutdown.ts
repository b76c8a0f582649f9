/**
 * Stopping what a command started when it is interrupted. SIGINT and SIGTERM run every registered
 * clean-up (stopping the local stack: the DynamoDB Local JVM, the SQS server, pollers), then exit
 * with 128 + the signal's number. A second signal exits at once; even then the 'exit' handlers of
 * local/dynamodb-local.ts kill the JVM, so no child outlives the command.
 */
type Cleanup = () => Promise<void>;

const cleanups = new Set<Cleanup>();
let interrupted: NodeJS.Signals | undefined;

/** Registers a clean-up for an interruption; returns its removal (call it once the thing is stopped). */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** The signal being handled, if any: errors raised by work torn down under it are not reported. */
export const interruptedBy = (): NodeJS.Signals | undefined => interrupted;

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

export function handleInterrupts(log: (msg: string) => void): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      const code = EXIT_CODES[signal] ?? 1;
      if (interrupted) process.exit(code);
      interrupted = signal;
      log(`billing: ${signal} received: stopping everything this command started`);
      void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(code));
    });
}
