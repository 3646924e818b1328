/**
 * HTML to plain text, regex-based and lenient (mail HTML is rarely well-formed):
 *   1. drop comments, <script>, <style>, <head> (title/meta), and <!DOCTYPE>/<?...?> declarations;
 *   2. block-level tags (br, p, div, tr, li, h1-h6, table, blockquote, hr) become line breaks,
 *      table cells become spaces;
 *   3. every remaining tag is removed;
 *   4. character references are decoded: numeric (&#65; &#x41;) and the common named ones;
 *      unknown names are left as written.
 * Whitespace is not collapsed here; the caller decides.
 */

const NAMED_ENTITIES: Readonly<Record<string, string>> = Object.freeze({
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  sbquo: "‚",
  bdquo: "„",
  bull: "•",
  middot: "·",
  deg: "°",
  plusmn: "±",
  times: "×",
  divide: "÷",
  para: "¶",
  sect: "§",
  cent: "¢",
  pound: "£",
  euro: "€",
  yen: "¥",
  laquo: "«",
  raquo: "»",
  iexcl: "¡",
  iquest: "¿",
  frac12: "½",
  frac14: "¼",
  frac34: "¾",
  sup2: "²",
  sup3: "³",
  shy: "",
  ensp: " ",
  emsp: " ",
  thinsp: " ",
  zwnj: "",
  zwj: "",
  dagger: "†",
  larr: "←",
  rarr: "→",
  uarr: "↑",
  darr: "↓",
  agrave: "à",
  aacute: "á",
  acirc: "â",
  atilde: "ã",
  auml: "ä",
  aring: "å",
  aelig: "æ",
  ccedil: "ç",
  egrave: "è",
  eacute: "é",
  ecirc: "ê",
  euml: "ë",
  igrave: "ì",
  iacute: "í",
  icirc: "î",
  iuml: "ï",
  ntilde: "ñ",
  ograve: "ò",
  oacute: "ó",
  ocirc: "ô",
  otilde: "õ",
  ouml: "ö",
  oslash: "ø",
  ugrave: "ù",
  uacute: "ú",
  ucirc: "û",
  uuml: "ü",
  yacute: "ý",
  yuml: "ÿ",
  szlig: "ß",
  Agrave: "À",
  Aacute: "Á",
  Acirc: "Â",
  Atilde: "Ã",
  Auml: "Ä",
  Aring: "Å",
  AElig: "Æ",
  Ccedil: "Ç",
  Egrave: "È",
  Eacute: "É",
  Ecirc: "Ê",
  Euml: "Ë",
  Igrave: "Ì",
  Iacute: "Í",
  Icirc: "Î",
  Iuml: "Ï",
  Ntilde: "Ñ",
  Ograve: "Ò",
  Oacute: "Ó",
  Ocirc: "Ô",
  Otilde: "Õ",
  Ouml: "Ö",
  Oslash: "Ø",
  Ugrave: "Ù",
  Uacute: "Ú",
  Ucirc: "Û",
  Uuml: "Ü",
  Yacute: "Ý",
});

/** Decode HTML character references (numeric and the named ones above). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (m, ref: string) => {
    if (ref[0] === "#") {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return " ";
      return String.fromCodePoint(cp);
    }
    const named = NAMED_ENTITIES[ref] ?? NAMED_ENTITIES[ref.toLowerCase()];
    return named ?? m;
  });
}

const BLOCK_TAG =
  /<\/?(?:br|p|div|tr|li|ul|ol|h[1-6]|table|tbody|thead|blockquote|hr|center|pre|dd|dt|dl|form)\b[^>]*>/gi;

/** Readable text of an HTML fragment or document (line breaks kept, other whitespace untouched). */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?(?:-->|$)/g, " ")
      .replace(/<script\b[\s\S]*?(?:<\/script\s*>|$)/gi, " ")
      .replace(/<style\b[\s\S]*?(?:<\/style\s*>|$)/gi, " ")
      .replace(/<head\b[\s\S]*?<\/head\s*>/gi, " ")
      .replace(/<title\b[\s\S]*?<\/title\s*>/gi, " ")
      .replace(/<![^>]*>|<\?[^>]*>/g, " ")
      .replace(BLOCK_TAG, "\n")
      .replace(/<\/?t[dh]\b[^>]*>/gi, " ")
      .replace(/<\/?[a-zA-Z][^>]*>/g, ""),
  );
}
