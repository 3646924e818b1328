/**
 * A small, lenient RFC 822 / MIME reader: enough to pull the readable text out of the 2002-era
 * SpamAssassin mails (and similar), not a general mail library.
 *
 *  - headers: unfolded, names lower-cased, first occurrence wins; an mbox "From " envelope line is skipped;
 *  - Content-Transfer-Encoding: quoted-printable and base64 are decoded to bytes, then to text with
 *    the part's charset (TextDecoder; unknown charsets fall back to windows-1252); 7bit/8bit/binary
 *    bodies are used as they are (the corpus files are already UTF-8 text);
 *  - RFC 2047 encoded words (=?charset?B|Q?...?=) in headers are decoded;
 *  - multipart/alternative: the first text/plain alternative, else the last text/html one;
 *    when the declared boundary never occurs, or a part has no Content-Type but its body has such
 *    a line, a "--x" line directly followed by a Content-* header is taken as the boundary;
 *    other multipart/*: the text of every inline part, in order; message/rfc822: its body;
 *  - attachments (Content-Disposition: attachment, or a filename/name parameter) and any non-text
 *    part (images, signatures, application/*) are dropped and counted.
 */

export type Headers = ReadonlyMap<string, string>;

/** A message or MIME part split into unfolded headers and the raw body. */
export interface MimePart {
  readonly headers: Headers;
  readonly body: string;
}

/** Readable text found in a message: plain-text parts and HTML parts kept apart. */
export interface MessageText {
  /** Decoded Subject header ("" when absent). */
  readonly subject: string;
  /** text/plain bodies (decoded), in message order. */
  readonly plain: readonly string[];
  /** text/html bodies (decoded, still HTML), in message order; used only when `plain` is empty. */
  readonly html: readonly string[];
  /** Parts dropped as attachments or non-text content. */
  readonly droppedParts: number;
}

/** Split raw text at the first empty line into unfolded headers and body. CRLF is normalised to LF. */
export function parsePart(raw: string): MimePart {
  const text = raw.replace(/\r\n?/g, "\n");
  const end = text.search(/\n[ \t]*\n/);
  let headerBlock: string;
  let body: string;
  if (text.startsWith("\n")) {
    headerBlock = "";
    body = text.slice(1);
  } else if (end < 0) {
    // no blank line: all headers if it looks like headers, else all body
    const looksLikeHeaders = /^(From |[!-9;-~]+:)/.test(text);
    headerBlock = looksLikeHeaders ? text : "";
    body = looksLikeHeaders ? "" : text;
  } else {
    headerBlock = text.slice(0, end);
    body = text.slice(text.indexOf("\n", end + 1) + 1);
  }
  const headers = new Map<string, string>();
  let name: string | null = null;
  let value = "";
  const flush = (): void => {
    if (name !== null && !headers.has(name)) headers.set(name, value.trim());
    name = null;
  };
  headerBlock.split("\n").forEach((line, i) => {
    if (i === 0 && line.startsWith("From ")) return; // mbox envelope line
    if (/^[ \t]/.test(line)) {
      if (name !== null) value += " " + line.trim();
      return;
    }
    flush();
    const m = /^([!-9;-~]+):[ \t]?(.*)$/.exec(line);
    if (m) {
      name = m[1]!.toLowerCase();
      value = m[2]!;
    }
  });
  flush();
  return { headers, body };
}

/** Media type (lower case, default text/plain) and parameters (names lower case, values unquoted). */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  if (!value) return { type: "text/plain", params };
  const [typePart, ...rest] = splitParams(value);
  let type = (typePart ?? "").trim().toLowerCase();
  // a few mailers write "text/plain charset=us-ascii" without the semicolon
  const glued = /^([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)\s+(.*)$/.exec(type);
  if (glued) {
    type = glued[1]!;
    rest.unshift(glued[2]!);
  }
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) type = "text/plain";
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"')) v = v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined).replace(/\\(.)/g, "$1");
    if (k && !(k in params)) params[k] = v;
  }
  return { type, params };
}

/** Split a header value at semicolons outside double quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && quoted && i + 1 < value.length) {
      cur += c + value[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      out.push(cur);
      cur = "";
    } else {
      cur += c;
    }
  }
  out.push(cur);
  return out;
}

/** Quoted-printable to bytes: "=XX" escapes, "=" soft line breaks; other characters as UTF-8. */
export function decodeQuotedPrintable(text: string): Uint8Array {
  const s = text
    .replace(/\r\n?/g, "\n")
    .replace(/[ \t]+\n/g, "\n")
    .replace(/=\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // a raw non-ASCII character (not allowed in QP, but it happens): keep it as its UTF-8 bytes
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), "utf8")) bytes.push(b);
    }
  }
  return Uint8Array.from(bytes);
}

/** Base64 to bytes, ignoring whitespace and any characters outside the base64 alphabet. */
export function decodeBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ""), "base64"));
}

/** Bytes to text in `charset` (default us-ascii, read as windows-1252 like browsers do). */
export function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? "").trim().toLowerCase() || "us-ascii";
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    decoder = new TextDecoder("windows-1252");
  }
  return decoder.decode(bytes);
}

/** Decode a body according to its Content-Transfer-Encoding and charset. */
export function decodeBody(body: string, transferEncoding: string | undefined, charset: string | undefined): string {
  const enc = (transferEncoding ?? "").trim().toLowerCase();
  if (enc === "quoted-printable") return decodeBytes(decodeQuotedPrintable(body), charset);
  if (enc === "base64") return decodeBytes(decodeBase64(body), charset);
  return body;
}

/** Decode RFC 2047 encoded words; whitespace between adjacent encoded words is dropped. */
export function decodeEncodedWords(value: string): string {
  const word = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
  const joined = value.replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, "$1");
  return joined.replace(word, (_m, charset: string, enc: string, data: string) => {
    const cs = charset.replace(/\*.*$/, ""); // RFC 2231 language suffix
    if (enc.toUpperCase() === "B") return decodeBytes(decodeBase64(data), cs);
    return decodeBytes(decodeQuotedPrintable(data.replace(/_/g, " ")), cs);
  });
}

/** The parts of a multipart body (preamble and epilogue dropped); null when the boundary never occurs. */
export function splitMultipart(body: string, boundary: string): string[] | null {
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  const open = `--${boundary}`;
  const close = `--${boundary}--`;
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    const t = line.trimEnd();
    if (t === close) {
      if (current) parts.push(current.join("\n"));
      current = null;
      return parts;
    }
    if (t === open) {
      if (current) parts.push(current.join("\n"));
      current = [];
      continue;
    }
    if (current) current.push(line);
  }
  if (current) parts.push(current.join("\n"));
  return parts.length > 0 ? parts : null;
}

/** A boundary taken from the first "--x" line that is directly followed by a Content-* header. */
export function guessBoundary(body: string): string | null {
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = /^--(\S.{0,69}?)\s*$/.exec(lines[i]!);
    if (m && /^content-(type|transfer-encoding|disposition):/i.test(lines[i + 1]!)) return m[1]!;
  }
  return null;
}

function isAttachment(part: MimePart, params: Record<string, string>): boolean {
  const disp = (part.headers.get("content-disposition") ?? "").toLowerCase();
  return disp.startsWith("attachment") || /filename\s*\*?=/.test(disp) || "name" in params;
}

interface Collected {
  plain: string[];
  html: string[];
  dropped: number;
}

const MAX_DEPTH = 8;

function collect(part: MimePart, depth: number): Collected {
  let { type, params } = parseContentType(part.headers.get("content-type"));
  if (!part.headers.has("content-type")) {
    // no Content-Type but a MIME body (seen in spam): read it as multipart/mixed
    const guessed = guessBoundary(part.body);
    if (guessed) ({ type, params } = { type: "multipart/mixed", params: { boundary: guessed } });
  }
  const none: Collected = { plain: [], html: [], dropped: 0 };
  if (depth > MAX_DEPTH) return { ...none, dropped: 1 };

  if (type.startsWith("multipart/")) {
    const declared = params["boundary"];
    let raw = declared ? splitMultipart(part.body, declared) : null;
    if (!raw) {
      // the declared boundary never occurs (seen in spam): use a "--x" line followed by a part header
      const guessed = guessBoundary(part.body);
      raw = guessed ? splitMultipart(part.body, guessed) : null;
    }
    if (!raw) return { plain: [part.body], html: [], dropped: 0 }; // broken multipart: read it as text
    const children = raw.map((p) => collect(parsePart(p), depth + 1));
    const dropped = children.reduce((n, c) => n + c.dropped, 0);
    if (type === "multipart/alternative") {
      const withPlain = children.find((c) => c.plain.length > 0);
      if (withPlain) return { plain: withPlain.plain, html: [], dropped };
      const withHtml = [...children].reverse().find((c) => c.html.length > 0);
      return { plain: [], html: withHtml ? withHtml.html : [], dropped };
    }
    return {
      plain: children.flatMap((c) => c.plain),
      html: children.flatMap((c) => c.html),
      dropped,
    };
  }
  if (type === "message/rfc822") {
    if (isAttachment(part, params)) return { ...none, dropped: 1 };
    return collect(parsePart(part.body), depth + 1);
  }
  if (type === "text/plain" || type === "text/html" || type === "text/enriched") {
    if (isAttachment(part, params)) return { ...none, dropped: 1 };
    const text = decodeBody(part.body, part.headers.get("content-transfer-encoding"), params["charset"]);
    return type === "text/plain" ? { ...none, plain: [text] } : { ...none, html: [text] };
  }
  return { ...none, dropped: 1 };
}

/** Subject and readable body parts of a raw message (headers + body). */
export function extractMessageText(raw: string): MessageText {
  const top = parsePart(raw);
  const c = collect(top, 0);
  return {
    subject: decodeEncodedWords(top.headers.get("subject") ?? ""),
    plain: c.plain,
    html: c.html,
    droppedParts: c.dropped,
  };
}
