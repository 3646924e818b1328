/**
 * Plotly figures as data: validation, JSON normalisation, the text summary, the HTML fragment
 * (a div + a Plotly.newPlot call) and the MIME bundle a notebook output carries. The plotly.js
 * library itself (plotly.js-dist-min, ~4.8 MB) is NOT part of a figure's HTML: it is inlined once per
 * notebook (show.ts initPlotly) or once per page (page.ts).
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import { formatNumber } from "../io/format";
import { isPlainObject } from "../io/validate";
import { escapeHtml, jsonForScript, scriptSafe } from "./html";
import { MimeBundle, PLOTLY_MIME } from "./mime";

/** One Plotly trace, e.g. { type: "scatter", x: [...], y: [...], name: "train" }. */
export type PlotlyTrace = Readonly<Record<string, unknown>>;

/** A Plotly figure: the arguments of Plotly.newPlot(div, data, layout, config). */
export interface Figure {
  readonly data: readonly PlotlyTrace[];
  readonly layout?: Readonly<Record<string, unknown>>;
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Height in px used when the layout sets none. */
export const DEFAULT_FIGURE_HEIGHT = 420;
/** Config merged under every figure's own config. */
export const DEFAULT_PLOTLY_CONFIG = Object.freeze({ responsive: true, displaylogo: false });

/** Throws a clear error unless `fig` is {data: object[], layout?: object, config?: object}. */
export function checkFigure(fig: unknown, where = "figure"): asserts fig is Figure {
  if (!isPlainObject(fig))
    throw new Error(`${where}: expected {data, layout?, config?}, got ${fig === null ? "null" : typeof fig}`);
  if (!Array.isArray(fig.data)) {
    throw new Error(
      `${where}: data must be an array of traces, got ${fig.data === undefined ? "undefined" : typeof fig.data}`,
    );
  }
  fig.data.forEach((trace, i) => {
    if (!isPlainObject(trace)) throw new Error(`${where}: data[${i}] must be a trace object, got ${typeof trace}`);
  });
  for (const key of ["layout", "config"] as const) {
    if (fig[key] !== undefined && !isPlainObject(fig[key])) {
      throw new Error(`${where}: ${key} must be an object, got ${typeof fig[key]}`);
    }
  }
}

/**
 * Deep copy with typed arrays (e.g. tensor.dataSync() results) turned into plain arrays: JSON
 * would otherwise write a Float32Array as {"0": .., "1": ..}, which Plotly cannot plot.
 */
export function toPlainJson(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? Number(v) : v));
  }
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlainJson(v);
    return out;
  }
  return value;
}

/** The figure as plain JSON (typed arrays converted), validated. */
export function normaliseFigure(fig: Figure, where = "figure"): Figure {
  checkFigure(fig, where);
  return toPlainJson(fig) as Figure;
}

function titleOf(fig: Figure): string | undefined {
  const t = fig.layout?.["title"];
  if (typeof t === "string") return t;
  if (isPlainObject(t) && typeof t["text"] === "string") return t["text"];
  return undefined;
}

function pointCount(trace: PlotlyTrace): number | undefined {
  for (const key of ["y", "x", "values", "z", "r"]) {
    const v = trace[key];
    if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)))
      return (v as ArrayLike<unknown>).length;
  }
  return undefined;
}

/** One-line text summary, the text/plain fallback of a figure output. */
export function figureText(fig: Figure): string {
  const title = titleOf(fig);
  const traces = fig.data.map((t) => {
    const type = typeof t["type"] === "string" ? t["type"] : "scatter";
    const name = typeof t["name"] === "string" ? ` '${t["name"]}'` : "";
    const n = pointCount(t);
    const pts = n === undefined ? "" : ` (${n} points)`;
    // Last y value helps when reading logs of learning curves.
    const y = t["y"];
    const last =
      Array.isArray(y) && typeof y[y.length - 1] === "number"
        ? `, last y=${formatNumber(y[y.length - 1] as number)}`
        : "";
    return `${type}${name}${pts}${last}`;
  });
  const head = title ? `Figure '${title}'` : "Figure";
  return `${head}: ${fig.data.length} trace${fig.data.length === 1 ? "" : "s"}${traces.length ? ": " + traces.join("; ") : ""}`;
}

let figureCounter = 0;

/** A fresh DOM id for a figure div (unique within a kernel process, random across processes). */
export function newFigureId(): string {
  figureCounter += 1;
  return `kit-fig-${randomBytes(4).toString("hex")}-${figureCounter}`;
}

function figureHeight(fig: Figure): number {
  const h = fig.layout?.["height"];
  return typeof h === "number" && h > 0 ? h : DEFAULT_FIGURE_HEIGHT;
}

/**
 * HTML fragment drawing the figure into a new div: `<div id=…>` + an inline script calling
 * Plotly.newPlot. It expects window.Plotly from an earlier output or page script, waits up to 10 s
 * for it, then writes a hint into the div. Does not contain plotly.js itself (~200 bytes + data).
 */
export function figureHtml(fig: Figure, divId: string = newFigureId()): string {
  if (!/^[A-Za-z][\w-]*$/.test(divId)) throw new Error(`figureHtml: div id must match [A-Za-z][\\w-]*, got "${divId}"`);
  const plain = normaliseFigure(fig, "figureHtml");
  const payload = jsonForScript(
    { data: plain.data, layout: plain.layout ?? {}, config: { ...DEFAULT_PLOTLY_CONFIG, ...(plain.config ?? {}) } },
    "figureHtml",
  );
  const height = figureHeight(plain);
  const script =
    `(function(){var id=${JSON.stringify(divId)},fig=${payload};` +
    `function draw(){var el=document.getElementById(id);if(el)window.Plotly.newPlot(el,fig.data,fig.layout,fig.config);}` +
    `if(window.Plotly){draw();return;}var n=0,t=setInterval(function(){if(window.Plotly){clearInterval(t);draw();}` +
    `else if(++n>100){clearInterval(t);var el=document.getElementById(id);` +
    `if(el)el.textContent="plotly.js is not loaded: call initPlotly() (lib/viz) in an earlier cell, then re-run this one";}},100);})();`;
  return (
    `<div id="${divId}" class="kit-figure" style="width:100%;min-height:${height}px;height:${height}px"></div>` +
    `<script type="text/javascript">${script}</script>`
  );
}

/** The MIME bundle of a figure output: Plotly JSON + HTML fallback + text summary. */
export function figureBundle(fig: Figure, divId: string = newFigureId()): MimeBundle {
  const plain = normaliseFigure(fig, "figureBundle");
  return {
    [PLOTLY_MIME]: {
      data: plain.data,
      layout: plain.layout ?? {},
      config: { ...DEFAULT_PLOTLY_CONFIG, ...(plain.config ?? {}) },
    },
    "text/html": figureHtml(plain, divId),
    "text/plain": figureText(plain),
  };
}

interface PlotlyLibrary {
  readonly version: string;
  readonly source: string;
}

let library: PlotlyLibrary | null = null;

/**
 * Reads plotly.js-dist-min once per process. Requires major version >= 3: 3.x sets window.Plotly
 * even when require.js is on the page (classic Notebook); 2.x registers as an AMD module instead.
 */
export function plotlyLibrary(): PlotlyLibrary {
  if (library) return library;
  let pkgPath: string;
  try {
    pkgPath = require.resolve("plotly.js-dist-min/package.json");
  } catch {
    throw new Error("plotly.js-dist-min is not installed: run `npm ci` in the project root");
  }
  const pkg = JSON.parse(fs.readFileSync(pkgPath, "utf8")) as { version?: string; main?: string };
  const version = String(pkg.version);
  const major = Number(version.split(".")[0]);
  if (!(major >= 3)) {
    throw new Error(
      `plotly.js-dist-min ${version} found, expected >= 3 (2.x does not set window.Plotly under require.js)`,
    );
  }
  const source = fs.readFileSync(require.resolve("plotly.js-dist-min"), "utf8");
  library = { version, source: scriptSafe(source) };
  return library;
}

/** `<script>` element that defines window.Plotly (the whole ~4.8 MB library). */
export function plotlyLibraryHtml(): string {
  const lib = plotlyLibrary();
  return `<script type="text/javascript">/* plotly.js-dist-min ${escapeHtml(lib.version)} */\n${lib.source}\n</script>`;
}
