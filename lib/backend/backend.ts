/**
 * The one place that decides which tfjs runtime the kit uses.
 *
 * Order: tfjs-node (native TensorFlow, fastest, optional dependency) -> wasm (XNNPACK, SIMD) -> cpu
 * (pure JS, ~30x slower than wasm; last resort). `KIT_BACKEND=node|wasm|cpu` forces one; a forced
 * backend that cannot load is an error, never a silent fallback.
 *
 * Every other module imports `tf` from here, so the whole process shares one engine.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

export { tf };

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** tfjs backend name as the engine reports it. */
  readonly name: BackendName;
  /** version of the package that provides the backend. */
  readonly version: string;
  /** tfjs-core version. */
  readonly tfjsVersion: string;
  /** how the backend was chosen. */
  readonly chosenBy: "env" | "auto";
  /** backends tried before this one, with the reason they were skipped. */
  readonly skipped: readonly string[];
}

const ENV_VAR = "KIT_BACKEND";
const ALIASES: Record<string, BackendName> = {
  node: "tensorflow",
  tensorflow: "tensorflow",
  "tfjs-node": "tensorflow",
  wasm: "wasm",
  cpu: "cpu",
};

let current: BackendInfo | null = null;
let pending: Promise<BackendInfo> | null = null;

function packageVersion(name: string): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

async function tryNode(): Promise<void> {
  // Loading tfjs-node registers the 'tensorflow' backend on the shared engine. It must resolve to the
  // same @tensorflow/tfjs-core instance as ours, which npm guarantees when versions match.
  require("@tensorflow/tfjs-node");
  if (!tf.engine().registryFactory["tensorflow"]) {
    throw new Error("@tensorflow/tfjs-node loaded but registered no 'tensorflow' backend");
  }
  if (!(await tf.setBackend("tensorflow"))) throw new Error("setBackend('tensorflow') failed");
}

async function tryWasm(): Promise<void> {
  if (!(await tf.setBackend("wasm"))) throw new Error("setBackend('wasm') failed");
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend("cpu"))) throw new Error("setBackend('cpu') failed");
}

const LOADERS: Record<BackendName, () => Promise<void>> = {
  tensorflow: tryNode,
  wasm: tryWasm,
  cpu: tryCpu,
};

const VERSION_OF: Record<BackendName, () => string> = {
  tensorflow: () => packageVersion("@tensorflow/tfjs-node"),
  wasm: () => packageVersion("@tensorflow/tfjs-backend-wasm"),
  cpu: () => packageVersion("@tensorflow/tfjs-backend-cpu"),
};

/** Parses a backend request such as the KIT_BACKEND value; throws on an unknown name. */
export function parseBackendName(raw: string): BackendName {
  const name = ALIASES[raw.trim().toLowerCase()];
  if (!name) {
    throw new Error(`${ENV_VAR}=${JSON.stringify(raw)} is not a backend: expected one of node, wasm, cpu`);
  }
  return name;
}

async function choose(forced: BackendName | null): Promise<BackendInfo> {
  const skipped: string[] = [];
  const order: BackendName[] = forced ? [forced] : ["tensorflow", "wasm", "cpu"];
  for (const name of order) {
    try {
      await LOADERS[name]();
      await tf.ready();
      return {
        name,
        version: VERSION_OF[name](),
        tfjsVersion: tf.version_core,
        chosenBy: forced ? "env" : "auto",
        skipped,
      };
    } catch (err) {
      const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
      if (forced) {
        throw new Error(`${ENV_VAR} asked for backend '${name}', which cannot load: ${why}`);
      }
      skipped.push(`${name}: ${why}`);
    }
  }
  throw new Error(`no tfjs backend could load: ${skipped.join("; ")}`);
}

/**
 * Selects and initialises the backend once per process (idempotent). `prefer` overrides the
 * environment variable; otherwise KIT_BACKEND, otherwise automatic.
 */
export function initBackend(prefer?: string): Promise<BackendInfo> {
  const requested = prefer ?? process.env[ENV_VAR];
  const forced = requested && requested.trim() !== "" ? parseBackendName(requested) : null;
  if (current && (!forced || forced === current.name)) return Promise.resolve(current);
  if (pending && !forced) return pending;
  pending = choose(forced).then((info) => {
    current = info;
    // Silence tfjs's "hi there, use tfjs-node" console banner on later loads.
    tf.env().set("PROD", true);
    return info;
  });
  pending.catch(() => {
    pending = null;
  });
  return pending;
}

/** The backend chosen by initBackend; throws if none was chosen yet. */
export function backendInfo(): BackendInfo {
  if (!current) throw new Error("backend not initialised: await initBackend() first");
  return current;
}

/** A short label for logs and result records, e.g. "wasm 4.22.0". */
export function backendLabel(info: BackendInfo = backendInfo()): string {
  return `${info.name} ${info.version}`;
}
