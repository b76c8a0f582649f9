/**
 * A strict RFC 4180 reader for tests, independent of the project's writer: fields separated by
 * commas; a field containing a comma, a double quote or a line break is enclosed in double quotes,
 * with each inner double quote doubled; anything else is taken literally (spaces included).
 * Records end with CRLF or LF. Throws on a malformed quoted field.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const endOfRecord = () => {
    rows.push(row);
    row = [];
  };
  while (i < text.length) {
    let field = "";
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quoted field");
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        field += c;
        i += 1;
      }
      const next = text[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r")
        throw new Error(`character after a closing quote at ${i}`);
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
        if (text[i] === '"') throw new Error(`bare double quote in an unquoted field at ${i}`);
        field += text[i];
        i += 1;
      }
    }
    row.push(field);
    if (text[i] === ",") {
      i += 1;
      if (i >= text.length) row.push("");
      continue;
    }
    if (text[i] === "\r") i += 1;
    if (text[i] === "\n") i += 1;
    endOfRecord();
  }
  if (row.length > 0) endOfRecord();
  return rows;
}

/** CSV text → objects keyed by the header row. */
export function csvRecords(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows.map((r) => {
    if (r.length !== header.length) throw new Error(`row has ${r.length} fields, header ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h, r[i]!]));
  });
}
