/**
 * Where rich output goes: a Jupyter notebook cell (tslab kernel) or, anywhere else, the console.
 *
 * Three sinks, picked at call time by currentSink():
 * - "jupyter": inside tslab, with tslab's internal jupyter module found in require.cache. Sends one
 *   display_data message per output carrying the whole MIME bundle (e.g. Plotly JSON + HTML +
 *   text/plain), and update_display_data for in-place updates by display id. This uses
 *   `lastWriteDisplayData` from tslab/dist/jupyter.js (tslab 1.0.x internals; the public
 *   `display` API sends one MIME type per output).
 * - "jupyter-basic": inside tslab when those internals are not found (other tslab version): falls
 *   back to tslab's public API and sends only text/html (or text/plain) per output.
 * - "console": plain node (scripts, tests, CI): prints the text/plain entry to stdout.
 */
import { randomBytes } from "crypto";
import { checkBundle, MimeBundle } from "./mime";

export type SinkKind = "jupyter" | "jupyter-basic" | "console";

export interface DisplaySink {
  readonly kind: SinkKind;
  /** Shows a new output; with `id`, later update(…, id) calls replace it in place. */
  show(bundle: MimeBundle, id?: string): void;
  /** Replaces the output shown earlier with the same id. */
  update(bundle: MimeBundle, id: string): void;
}

/** Shape of tslab/dist/jupyter.js's exported hook (tslab 1.0.x). */
type WriteDisplayData = (
  content: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } },
  update: boolean,
) => void;

interface TslabJupyterModule {
  lastWriteDisplayData?: WriteDisplayData | null;
}

/** tslab's public Display (see tslab/dist/public.d.ts). */
interface TslabDisplay {
  html(s: string): void;
  text(s: string): void;
}
interface TslabPublic {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

interface TslabGlobal {
  require?: (id: string) => unknown;
}

function tslabGlobal(): TslabGlobal | undefined {
  return (globalThis as { __tslab__?: TslabGlobal }).__tslab__;
}

/** True when running inside a tslab kernel (a notebook cell, or code it called). */
export function inNotebook(): boolean {
  return tslabGlobal() !== undefined;
}

const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

let lastJupyterFile: string | null = null;

/**
 * tslab's internal jupyter module of the running kernel, if it is loaded. A global tslab that
 * delegates to the project's local one leaves two copies in require.cache; the live one is the
 * copy whose lastWriteDisplayData is set (tslab sets it at the start of every cell).
 */
function findTslabJupyter(): TslabJupyterModule | null {
  const exportsOf = (mod: NodeModule | undefined): TslabJupyterModule | null =>
    mod && mod.exports && typeof mod.exports === "object" && "lastWriteDisplayData" in mod.exports
      ? (mod.exports as TslabJupyterModule)
      : null;
  if (lastJupyterFile) {
    const exp = exportsOf(require.cache[lastJupyterFile]);
    if (exp && typeof exp.lastWriteDisplayData === "function") return exp;
  }
  let fallback: TslabJupyterModule | null = null;
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!JUPYTER_MODULE.test(file)) continue;
    const exp = exportsOf(mod);
    if (!exp) continue;
    if (typeof exp.lastWriteDisplayData === "function") {
      lastJupyterFile = file;
      return exp;
    }
    fallback ??= exp;
  }
  return fallback;
}

class JupyterSink implements DisplaySink {
  readonly kind = "jupyter" as const;
  constructor(private readonly mod: TslabJupyterModule) {}

  private send(bundle: MimeBundle, id: string | undefined, update: boolean): void {
    const write = this.mod.lastWriteDisplayData;
    if (typeof write !== "function") throw new Error("display: tslab kernel is not ready (no cell is executing)");
    write({ data: { ...bundle }, metadata: {}, transient: id ? { display_id: id } : {} }, update);
  }

  show(bundle: MimeBundle, id?: string): void {
    checkBundle(bundle, "display");
    this.send(bundle, id, false);
  }

  update(bundle: MimeBundle, id: string): void {
    checkBundle(bundle, "display update");
    this.send(bundle, id, true);
  }
}

class BasicJupyterSink implements DisplaySink {
  readonly kind = "jupyter-basic" as const;
  private readonly displays = new Map<string, TslabDisplay>();
  constructor(private readonly tslab: TslabPublic) {}

  private emit(d: TslabDisplay, bundle: MimeBundle): void {
    if (typeof bundle["text/html"] === "string") d.html(bundle["text/html"]);
    else d.text(bundle["text/plain"]);
  }

  show(bundle: MimeBundle, id?: string): void {
    checkBundle(bundle, "display");
    if (!id) return this.emit(this.tslab.display, bundle);
    const d = this.tslab.newDisplay();
    this.displays.set(id, d);
    this.emit(d, bundle);
  }

  update(bundle: MimeBundle, id: string): void {
    checkBundle(bundle, "display update");
    const d = this.displays.get(id);
    if (!d) throw new Error(`display update: no output with id ${id} was shown by this sink`);
    this.emit(d, bundle);
  }
}

/** Prints text/plain to a writer (stdout by default); updates print again. */
export class ConsoleSink implements DisplaySink {
  readonly kind = "console" as const;
  constructor(private readonly write: (text: string) => void = (t) => process.stdout.write(t)) {}

  show(bundle: MimeBundle): void {
    checkBundle(bundle, "display");
    this.write(bundle["text/plain"] + "\n");
  }

  update(bundle: MimeBundle): void {
    this.show(bundle);
  }
}

// One sink per tslab module instance, so per-sink state (e.g. "plotly.js already sent") is stable.
const jupyterSinks = new WeakMap<object, JupyterSink>();
const basicSinks = new WeakMap<object, BasicJupyterSink>();
const consoleSink = new ConsoleSink();

/** The sink for the current process (see the file comment for the order). */
export function currentSink(): DisplaySink {
  const tslab = tslabGlobal();
  if (!tslab) return consoleSink;
  const mod = findTslabJupyter();
  if (mod) {
    let sink = jupyterSinks.get(mod);
    if (!sink) jupyterSinks.set(mod, (sink = new JupyterSink(mod)));
    return sink;
  }
  const pub = (tslab.require ? tslab.require("tslab") : require("tslab")) as TslabPublic;
  let sink = basicSinks.get(pub);
  if (!sink) basicSinks.set(pub, (sink = new BasicJupyterSink(pub)));
  return sink;
}

/** A fresh display id (hex) for outputs that will be updated in place. */
export function newDisplayId(): string {
  return randomBytes(8).toString("hex");
}

/** Shows a bundle once (no later updates). */
export function display(bundle: MimeBundle, sink: DisplaySink = currentSink()): void {
  sink.show(bundle);
}

/**
 * One output that can be redrawn in place: the first render() shows it, later calls update it
 * (update_display_data in Jupyter; a fresh print on the console sink).
 */
export class DisplayHandle {
  readonly id: string;
  private shown = false;
  constructor(
    readonly sink: DisplaySink = currentSink(),
    id: string = newDisplayId(),
  ) {
    this.id = id;
  }

  render(bundle: MimeBundle): void {
    if (this.shown) this.sink.update(bundle, this.id);
    else {
      this.sink.show(bundle, this.id);
      this.shown = true;
    }
  }
}
