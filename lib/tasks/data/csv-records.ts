/**
 * A quote-aware scan of CSV text (RFC 4180: comma-separated, fields optionally in double quotes,
 * "" = a literal quote, quoted fields may span lines) that records where each record starts.
 *
 * danfojs (papaparse underneath) does the real parsing for loadTaskFile, but it reports neither
 * line numbers nor which row is malformed. This scan supplies both: the 1-based line on which each
 * record starts (so errors can say "line 7"), each record's field count, and the first structural
 * problem (unterminated quote). Empty lines are skipped, as papaparse does with skipEmptyLines: true.
 */

export interface CsvRecordInfo {
  /** 1-based line where the record starts. */
  readonly line: number;
  /** Number of fields in the record. */
  readonly fields: number;
  /** Field values (unquoted), as papaparse would return them. */
  readonly values: readonly string[];
}

export interface CsvScan {
  /** Header first, then data records, in file order (empty lines skipped). */
  readonly records: readonly CsvRecordInfo[];
  /** First structural problem, if any. */
  readonly problem: { line: number; message: string } | null;
}

/** Scan `text` (a leading byte-order mark is ignored).
 * Long on purpose: a single-pass state machine (field, quoted field, quote in quoted field) whose states share the cursor and line counter.
 */
export function scanCsv(text: string, delimiter = ","): CsvScan {
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records: CsvRecordInfo[] = [];
  let line = 1;
  let i = 0;
  while (i < s.length) {
    const startLine = line;
    // an empty line: skip it
    if (s[i] === "\n" || (s[i] === "\r" && s[i + 1] === "\n") || s[i] === "\r") {
      i += s[i] === "\r" && s[i + 1] === "\n" ? 2 : 1;
      line += 1;
      continue;
    }
    const values: string[] = [];
    let field = "";
    let quoted = false;
    let atFieldStart = true;
    for (;;) {
      if (i >= s.length) {
        if (quoted)
          return { records, problem: { line: startLine, message: 'unterminated quoted field (missing closing ")' } };
        values.push(field);
        break;
      }
      const c = s[i]!;
      if (quoted) {
        if (c === '"') {
          if (s[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            quoted = false;
            i += 1;
          }
        } else {
          if (c === "\n" || (c === "\r" && s[i + 1] !== "\n")) line += 1;
          field += c;
          i += 1;
        }
        continue;
      }
      if (c === '"' && atFieldStart) {
        quoted = true;
        atFieldStart = false;
        i += 1;
        continue;
      }
      if (c === delimiter) {
        values.push(field);
        field = "";
        atFieldStart = true;
        i += 1;
        continue;
      }
      if (c === "\n" || c === "\r") {
        values.push(field);
        i += c === "\r" && s[i + 1] === "\n" ? 2 : 1;
        line += 1;
        break;
      }
      field += c;
      atFieldStart = false;
      i += 1;
    }
    records.push({ line: startLine, fields: values.length, values });
  }
  return { records, problem: null };
}
