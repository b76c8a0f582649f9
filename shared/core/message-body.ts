/**
 * A usage message's body carries one CloudEvent or a batch of them (a JSON array), as the ingest
 * handler reads it.
 */

/** The elements of a body, unchecked: the one event, or each of a batch; none when it is not JSON. */
export function bodyElements(body: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}
