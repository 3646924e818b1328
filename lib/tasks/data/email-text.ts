/**
 * Turn one raw e-mail into a short classification text: "Subject: <subject>\n<body>".
 *
 * Cleaning steps (EMAIL_CLEANING_VERSION is bumped whenever any of them changes; it is recorded in
 * each task's provenance note):
 *   1. MIME: headers parsed, all dropped except Subject; the body text is the text/plain parts, or,
 *      when there are none, the text/html parts converted to text; QP/base64 decoded; attachments
 *      and non-text parts dropped (see mime.ts, html.ts). A text/plain part (or a mail without
 *      Content-Type) that is really HTML - it has an <html>/<body> tag or 3+ common HTML tags such
 *      as <font>, <br>, <a ...> - is converted like HTML (common in spam).
 *   2. Control characters (other than tab/newline) removed; line ends normalised.
 *   3. Reply quoting: lines starting with ">" (after optional spaces and up to 3 initials, as in
 *      "JM> ...") are dropped, as is an attribution line ending in ":" (e.g. "On Mon, Bob wrote:")
 *      directly before a quote; everything from an Outlook "-----Original Message-----" line on is
 *      dropped. PGP armour ("-----BEGIN PGP SIGNED MESSAGE-----" + "Hash:" line, and the whole
 *      "-----BEGIN PGP SIGNATURE----- ... -----END PGP SIGNATURE-----" block) is removed.
 *   4. Signature: everything from a line that is exactly "-- " or "--" on is dropped.
 *   5. Mailing-list footers: everything from a separator line (20+ of the same character among
 *      _ - = *) on is dropped when the part after it is short (< 1000 characters) and mentions
 *      "mailing list", "listinfo", "mailman", "unsubscribe" or "sponsored by".
 *   6. URLs (http, https, ftp) are replaced by their host name ("http://www.x.com/a?b" -> "www.x.com").
 *   7. Runs of 4+ identical punctuation characters ("=====", "*****") are shortened to 3.
 *   8. Whitespace (including newlines) collapsed to single spaces, trimmed.
 *   9. Subject: RFC 2047 decoded, leading mailing-list tags such as "[SAtalk]" or "[ILUG]" removed
 *      (also after "Re:"/"Fwd:"), whitespace collapsed.
 * Composition and truncation (`composeEmailText`) are separate so one cleaned corpus serves any maxChars.
 */
import { htmlToText } from "./html";
import { extractMessageText } from "./mime";

/** Bump when any cleaning step above changes. */
export const EMAIL_CLEANING_VERSION = 1;

/** Cleaned subject and body of one e-mail (body not yet truncated). */
export interface CleanEmail {
  readonly subject: string;
  readonly body: string;
  /** Whether (part of) the body was converted from HTML. */
  readonly fromHtml: boolean;
  /** MIME parts dropped as attachments or non-text. */
  readonly droppedParts: number;
}

/** Apply cleaning steps 1-9 to a raw message. The body may come back empty; callers drop those. */
export function cleanEmail(raw: string): CleanEmail {
  const msg = extractMessageText(raw);
  const parts = msg.plain.length > 0 ? msg.plain : msg.html;
  const fromHtml = parts.length > 0 && (msg.plain.length === 0 || parts.some(looksLikeHtml));
  const text = parts.map((t) => (msg.plain.length === 0 || looksLikeHtml(t) ? htmlToText(t) : t)).join("\n");
  return {
    subject: cleanSubject(msg.subject),
    body: cleanBody(text),
    fromHtml,
    droppedParts: msg.droppedParts,
  };
}

const HTML_TAG =
  /<\/?(?:a|b|i|u|p|br|hr|font|div|span|table|tr|td|th|img|center|head|title|style|script|meta|li|ul|ol|h[1-6]|strong|em)\b[^<>]*>/gi;

/** Whether text labelled text/plain is actually HTML (see step 1). */
export function looksLikeHtml(text: string): boolean {
  if (/<\/?(?:html|body)\b/i.test(text)) return true;
  let n = 0;
  for (const _ of text.matchAll(HTML_TAG)) if (++n >= 3) return true;
  return false;
}

/** Steps 2-8 on decoded body text. */
export function cleanBody(text: string): string {
  let lines = text
    .replace(/\r\n?/g, "\n")
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/g, "")
    .split("\n");
  lines = dropPgpArmour(lines);
  lines = dropQuotes(lines);
  lines = cutAt(lines, (l) => /^\s*-{2,}\s*original message\s*-{2,}\s*$/i.test(l));
  lines = cutAt(lines, (l) => l === "-- " || l === "--");
  lines = dropListFooter(lines);
  return lines
    .join("\n")
    .replace(/\b(?:https?|ftp):\/\/([^\s/?#<>"'()[\]]+)[^\s<>"']*/gi, "$1")
    .replace(/([^\w\s])\1{3,}/g, "$1$1$1")
    .replace(/\s+/g, " ")
    .trim();
}

/** Step 9. */
export function cleanSubject(subject: string): string {
  let s = subject
    .replace(/[\u0000-\u001f\u007f]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  // strip list tags at the start, possibly behind reply/forward prefixes: "Re: [ILUG] x" -> "Re: x"
  const lead = /^((?:(?:re|fw|fwd|aw)\s*(?:\[\d+\])?\s*:\s*)*)\[[^\]]{1,40}\]\s*/i;
  for (let i = 0; i < 3 && lead.test(s); i++) s = s.replace(lead, "$1");
  return s.replace(/\s+/g, " ").trim();
}

function dropQuotes(lines: string[]): string[] {
  const isQuote = (l: string): boolean => /^\s*[A-Za-z]{0,3}>/.test(l);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (isQuote(l)) continue;
    if (/:\s*$/.test(l) && l.trim().length < 200) {
      let j = i + 1;
      while (j < lines.length && lines[j]!.trim() === "") j++;
      if (j < lines.length && isQuote(lines[j]!)) continue;
    }
    out.push(l);
  }
  return out;
}

function dropPgpArmour(lines: string[]): string[] {
  const out: string[] = [];
  let inSignature = false;
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (inSignature) {
      if (t === "-----END PGP SIGNATURE-----") inSignature = false;
      continue;
    }
    if (t === "-----BEGIN PGP SIGNATURE-----") {
      inSignature = true;
      continue;
    }
    if (t === "-----BEGIN PGP SIGNED MESSAGE-----") {
      while (i + 1 < lines.length && /^Hash:/i.test(lines[i + 1]!.trim())) i++;
      continue;
    }
    out.push(lines[i]!);
  }
  return out;
}

function cutAt(lines: string[], isCut: (line: string) => boolean): string[] {
  const i = lines.findIndex(isCut);
  return i < 0 ? lines : lines.slice(0, i);
}

const FOOTER_MARKERS = /mailing list|listinfo|mailman|unsubscribe|sponsored by/i;

function dropListFooter(lines: string[]): string[] {
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*([_\-=*])\1{19,}\s*$/.test(lines[i]!)) continue;
    const tail = lines.slice(i + 1).join("\n");
    if (tail.length < 1000 && FOOTER_MARKERS.test(tail)) return lines.slice(0, i);
  }
  return lines;
}

/**
 * "Subject: <subject>\n<body>" (just the body when the subject is empty), truncated to at most
 * `maxChars` characters: at the last space if that keeps at least 3/4 of the budget, else hard
 * (never splitting a surrogate pair).
 */
export function composeEmailText(subject: string, body: string, maxChars: number): string {
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new Error(`maxChars must be a positive integer, got ${maxChars}`);
  const text = subject ? `Subject: ${subject}\n${body}` : body;
  return truncateText(text, maxChars);
}

/** Truncate as described for composeEmailText. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = maxChars;
  const space = text.lastIndexOf(" ", maxChars);
  if (space >= Math.ceil(maxChars * 0.75)) cut = space;
  else if (/[\ud800-\udbff]/.test(text[cut - 1]!)) cut -= 1;
  return text.slice(0, cut).trimEnd();
}
