/** Decoding a task file's bytes: strict UTF-8 (a bad byte is refused with its line and column) or a declared encoding. */
import { TaskFileError, describe } from "./task-file-error";

export function isUtf8(encoding: string): boolean {
  return /^(utf-?8|unicode-1-1-utf-8)$/i.test(encoding.trim());
}

/**
 * Bytes -> text. UTF-8 is decoded strictly: the first invalid sequence is refused with its line, byte column
 * and bytes. Another encoding must be one the WHATWG Encoding Standard (TextDecoder) knows.
 */
export function decodeTaskFile(file: string, bytes: Uint8Array, encoding = "utf-8"): string {
  if (typeof encoding !== "string" || encoding.trim() === "") {
    throw new Error(
      `loadTaskFile(${file}): option encoding must be a non-empty string such as "utf-8" or "latin1", got ${describe(encoding)}`,
    );
  }
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding.trim(), { fatal: true });
  } catch {
    throw new Error(
      `loadTaskFile(${file}): option encoding ${JSON.stringify(encoding)} is not an encoding this runtime knows (e.g. "utf-8", "latin1", "windows-1252", "utf-16le")`,
    );
  }
  try {
    return stripBom(decoder.decode(bytes));
  } catch {
    if (!isUtf8(encoding)) {
      throw new TaskFileError(file, [
        {
          line: 0,
          field: "(file)",
          expected: `text in the declared encoding ${encoding}`,
          got: "bytes that are not valid in it",
        },
      ]);
    }
    const bad = firstInvalidUtf8(bytes);
    throw new TaskFileError(file, [
      {
        line: bad.line,
        field: "(bytes)",
        expected: `UTF-8 text (or declare the file's encoding, e.g. "encoding": "latin1")`,
        got: `byte 0x${bad.byte.toString(16).padStart(2, "0")} at byte ${bad.column} of the line (after ${JSON.stringify(bad.before)}), which is not valid UTF-8`,
      },
    ]);
  }
}

export function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** 1-based line and byte column of the first invalid UTF-8 sequence (found line by line). */
function firstInvalidUtf8(bytes: Uint8Array): { line: number; column: number; byte: number; before: string } {
  const strict = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  let line = 1;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const chunk = bytes.subarray(start, end);
    try {
      strict.decode(chunk);
    } catch {
      // Narrow down to the first byte where a valid prefix stops growing.
      let ok = 0;
      for (let i = 1; i <= chunk.length; i++) {
        try {
          strict.decode(chunk.subarray(0, i));
          ok = i;
        } catch {
          // a valid prefix may end in the middle of a multi-byte character: keep going a few bytes
          if (i - ok > 4) break;
        }
      }
      const before = strict.decode(chunk.subarray(0, ok));
      return { line, column: ok + 1, byte: chunk[ok]!, before: before.length > 40 ? `…${before.slice(-40)}` : before };
    }
    start = end + 1;
    line++;
  }
  return { line: 0, column: 0, byte: 0, before: "" };
}
