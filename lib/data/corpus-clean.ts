/**
 * Text cleaning for the pre-training corpus: generic paragraph cleaning (normalisation, control
 * characters, whitespace) and the source-specific markup removal used by corpus-sources.ts.
 */
import { normalizeText } from "../tokenizer/text-normalizer";

/** Control characters (except whitespace, handled separately), C1 controls, zero-width chars and BOM. */
const CONTROL_CHARS = /[\u0000-\u0008\u000E-\u001F\u007F-\u009F\u200B-\u200D\u2060\uFEFF]/g;

/**
 * Clean one paragraph: tokenizer normaliser (NFKC, ASCII quotes), drop control / zero-width
 * characters, collapse every whitespace run (incl. newlines) to one space, trim.
 * Returns "" when nothing is left.
 */
export function cleanParagraph(text: string): string {
  return normalizeText(text).replace(CONTROL_CHARS, "").replace(/\s+/g, " ").trim();
}

/** Bracketed editorial insertions in the State of the Union transcripts that are not speech. */
const SOTU_MARKUP = /\[(?:laughter|applause|missing text|sic|p\. ?\d+|\d+|footnote[^\]]*|at this point[^\]]*)\]/gi;

/**
 * Remove transcript markup from a State of the Union address: audience reactions ([Laughter],
 * [Applause], [At this point ...]), page markers ([p.7]), footnote markers ([1]) and footnotes
 * ([Footnote 1: ...]), [missing text], [sic]; rules of 3+
 * underscores from budget tables; "* * *" section separators. Editorial word insertions such as
 * "[the States]" are kept because they complete the sentence.
 */
export function stripSotuMarkup(text: string): string {
  return text
    .replace(SOTU_MARKUP, " ")
    .replace(/_{3,}/g, " ")
    .replace(/\*(?: \*){2,}/g, " ");
}

/** Headings that open each Moby-Dick section file ("CHAPTER 1. Loomings.", "ETYMOLOGY. (...)", ...). */
const MOBY_HEADING = /^(?:CHAPTER \d+\.|ETYMOLOGY\.|EXTRACTS\.|Epilogue\b)/;

/** True when `paragraph` is a Moby-Dick section heading rather than prose. */
export function isMobyDickHeading(paragraph: string): boolean {
  return MOBY_HEADING.test(paragraph.trim());
}

/** Adjective syntactic markers appended to WordNet lemmas: (a) attributive, (p) predicative, (ip) immediately postnominal. */
const WORDNET_ADJ_MARKER = /\((?:a|p|ip)\)$/;

/**
 * Turn one WordNet data.* line into "lemma, lemma: gloss" (definitions and quoted example
 * sentences as WordNet writes them). Returns null for licence header lines (they start with
 * two spaces). Throws naming `where` (file:line) when the line is malformed.
 */
export function formatWordnetSynset(line: string, where: string): { offset: string; text: string } | null {
  if (line.startsWith("  ") || line.trim() === "") return null;
  const bar = line.indexOf(" | ");
  if (bar < 0)
    throw new Error(
      `${where}: expected a WordNet synset line with " | " before the gloss, got ${JSON.stringify(line.slice(0, 60))}`,
    );
  const fields = line.slice(0, bar).split(" ");
  const offset = fields[0]!;
  const wordCount = parseInt(fields[3] ?? "", 16);
  if (!/^\d{8}$/.test(offset) || !Number.isInteger(wordCount) || wordCount < 1 || fields.length < 4 + 2 * wordCount) {
    throw new Error(
      `${where}: expected "offset lex_filenum ss_type w_cnt(hex) word lex_id ...", got ${JSON.stringify(line.slice(0, 60))}`,
    );
  }
  const lemmas: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < wordCount; i++) {
    const lemma = fields[4 + 2 * i]!.replace(WORDNET_ADJ_MARKER, "").replace(/_/g, " ");
    const key = lemma.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      lemmas.push(lemma);
    }
  }
  const gloss = line.slice(bar + 3).trim();
  return { offset, text: gloss ? `${lemmas.join(", ")}: ${gloss}` : lemmas.join(", ") };
}

/** Brown tokens written without a space before them (closing punctuation and closing quotes). */
const BROWN_NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "?", "!", ")", "]", "''", "'"]);
/** Brown tokens written without a space after them (opening brackets and opening quotes). */
const BROWN_NO_SPACE_AFTER = new Set(["(", "[", "``"]);

/**
 * Turn one line of the tagged Brown corpus (form C: `word/tag word/tag ...`) back into running text: the tag
 * after each token's last "/" is dropped, `` and '' become ASCII double quotes, closing punctuation attaches
 * to the word before it and opening brackets and quotes to the word after. Throws naming `where` when a token
 * has no tag.
 */
export function detokenizeBrownLine(line: string, where: string): string {
  let out = "";
  let glueNext = true;
  for (const token of line.trim().split(/\s+/)) {
    if (token === "") continue;
    const slash = token.lastIndexOf("/");
    if (slash <= 0) throw new Error(`${where}: expected Brown tokens "word/tag", got ${JSON.stringify(token)}`);
    const word = token.slice(0, slash);
    const text = word === "``" || word === "''" ? '"' : word;
    if (!glueNext && !BROWN_NO_SPACE_BEFORE.has(word)) out += " ";
    out += text;
    glueNext = BROWN_NO_SPACE_AFTER.has(word);
  }
  return out;
}

/**
 * The paragraphs of one Brown corpus file: a paragraph starts at a line indented with a tab, its sentences
 * are the following non-blank lines (one sentence per line); blank lines separate sentences and paragraphs.
 */
export function brownParagraphs(fileText: string, where: string): string[] {
  const paragraphs: string[] = [];
  let current: string[] = [];
  const lines = fileText.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    if (line.startsWith("\t") && current.length > 0) {
      paragraphs.push(current.join(" "));
      current = [];
    }
    current.push(detokenizeBrownLine(line, `${where}:${i + 1}`));
  }
  if (current.length > 0) paragraphs.push(current.join(" "));
  return paragraphs;
}
