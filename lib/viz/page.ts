/**
 * Self-contained HTML pages (e.g. reports/<experiment>/report.html): headings, paragraphs, tables
 * and Plotly figures in one file that opens offline. plotly.js is inlined once, in <head>, and only
 * when the page has at least one figure.
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../io/atomic-write";
import { Figure, figureHtml, plotlyLibraryHtml } from "./figure";
import { escapeHtml } from "./html";
import { renderTable, TableInput, TableOptions } from "./table";

/** One block of a page, rendered in order. */
export type PagePart =
  | { readonly kind: "heading"; readonly text: string; readonly level?: 1 | 2 | 3 }
  /** A paragraph of plain text (escaped; blank lines separate paragraphs). */
  | { readonly kind: "text"; readonly text: string }
  /** Trusted raw HTML, inserted as is. */
  | { readonly kind: "html"; readonly html: string }
  | { readonly kind: "figure"; readonly figure: Figure; readonly caption?: string }
  | { readonly kind: "table"; readonly table: TableInput; readonly options?: TableOptions };

export interface PageOptions {
  readonly title: string;
  readonly parts: readonly PagePart[];
}

const PAGE_CSS =
  "body{font:15px/1.5 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;max-width:1100px;margin:24px auto;padding:0 16px}" +
  "h1{font-size:26px;margin:0 0 12px}h2{font-size:20px;margin:28px 0 8px}h3{font-size:17px;margin:20px 0 6px}" +
  ".kit-caption{color:#555;font-size:13px;margin:2px 0 18px}";

function renderPart(part: PagePart, i: number): string {
  switch (part.kind) {
    case "heading": {
      const level = part.level ?? 2;
      if (![1, 2, 3].includes(level))
        throw new Error(`htmlPage: parts[${i}] heading level must be 1, 2 or 3, got ${level}`);
      return `<h${level}>${escapeHtml(part.text)}</h${level}>`;
    }
    case "text":
      return part.text
        .split(/\n\s*\n/)
        .map((p) => `<p>${escapeHtml(p.trim())}</p>`)
        .join("\n");
    case "html":
      return part.html;
    case "figure": {
      const caption = part.caption ? `<div class="kit-caption">${escapeHtml(part.caption)}</div>` : "";
      // Page-local ids keep pages reproducible byte for byte.
      return figureHtml(part.figure, `fig-${i + 1}`) + caption;
    }
    case "table":
      return renderTable(part.table, part.options).html;
    default: {
      const kind = (part as { kind?: unknown }).kind;
      throw new Error(
        `htmlPage: parts[${i}] has unknown kind ${JSON.stringify(kind)}; expected heading, text, html, figure or table`,
      );
    }
  }
}

/** A complete HTML document (UTF-8) with every part rendered in order. */
export function htmlPage(options: PageOptions): string {
  if (typeof options.title !== "string")
    throw new Error(`htmlPage: title must be a string, got ${typeof options.title}`);
  if (!Array.isArray(options.parts)) throw new Error(`htmlPage: parts must be an array, got ${typeof options.parts}`);
  const body = options.parts.map(renderPart).join("\n");
  const needsPlotly = options.parts.some((p) => p.kind === "figure");
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">\n` +
    `<title>${escapeHtml(options.title)}</title>\n<style>${PAGE_CSS}</style>\n` +
    (needsPlotly ? plotlyLibraryHtml() + "\n" : "") +
    `</head>\n<body>\n<h1>${escapeHtml(options.title)}</h1>\n${body}\n</body>\n</html>\n`
  );
}

/** Writes htmlPage(options) to `file` atomically, creating parent folders; returns the absolute path. */
export function writeHtmlPage(file: string, options: PageOptions): string {
  const html = htmlPage(options);
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  writeFileAtomic(abs, html);
  return abs;
}
