/**
 * Which kernel set runs the kit's hot ops (matmuls, LayerNorm, activations, attention, cross-entropy):
 *
 *   native - the N-API addon (native/kit_native.c): BLAS sgemm (OpenBLAS, multi-threaded) and fused C passes,
 *            reading and writing tensors in place in the tfjs wasm heap;
 *   wasm   - the kit's WebAssembly SIMD kernels (kernels.c) for the matmuls tfjs-wasm runs slowly, tfjs ops elsewhere;
 *   tfjs   - tfjs's own kernels only (any backend).
 *
 * Chosen once per backend in that order: native and wasm need the tfjs 'wasm' backend (they read its heap), so
 * on any other backend (tfjs-node, cpu) the set is tfjs. On wasm, `KIT_KERNELS=native|wasm|tfjs` forces one; a forced set that cannot run is an error naming what is missing, while
 * the automatic choice falls back with one warning line on stderr. `KIT_THREADS=N` sets the BLAS threads (default:
 * OPENBLAS_NUM_THREADS, else every core); process pools set it per child so that concurrent runs share the cores.
 */
import { tf } from "../backend";
import { loadNative, type NativeAddon } from "./native-addon";
import { blasThreads } from "./threads";

export { blasThreads, envForConcurrency } from "./threads";

export type KernelSetName = "native" | "wasm" | "tfjs";

export interface KernelSetInfo {
  readonly name: KernelSetName;
  readonly chosenBy: "env" | "auto";
  /** the tfjs backend the choice was made for. */
  readonly backend: string;
  /** BLAS library and thread count (native only). */
  readonly blas: string | null;
  readonly threads: number | null;
  /** sets tried before this one, with the reason each was skipped. */
  readonly skipped: readonly string[];
}

const ENV_VAR = "KIT_KERNELS";
const NAMES: readonly KernelSetName[] = ["native", "wasm", "tfjs"];

let chosen: KernelSetInfo | null = null;
let addon: NativeAddon | null = null;
let warned = false;

/** Parses a KIT_KERNELS value; throws on an unknown name. */
export function parseKernelSetName(raw: string): KernelSetName {
  const name = raw.trim().toLowerCase();
  if (!(NAMES as readonly string[]).includes(name)) {
    throw new Error(`${ENV_VAR}=${JSON.stringify(raw)} is not a kernel set: expected one of ${NAMES.join(", ")}`);
  }
  return name as KernelSetName;
}

function choose(backend: string): KernelSetInfo {
  const raw = process.env[ENV_VAR];
  const forced = raw !== undefined && raw.trim() !== "" ? parseKernelSetName(raw) : null;
  const skipped: string[] = [];
  const base = { chosenBy: forced ? ("env" as const) : ("auto" as const), backend, blas: null, threads: null };
  const order: KernelSetName[] = forced ? [forced] : [...NAMES];
  if (backend !== "wasm") {
    // the native and wasm sets work on the wasm backend's heap: on any other backend only tfjs's kernels exist
    return {
      ...base,
      name: "tfjs",
      skipped: [`native, wasm: need the tfjs 'wasm' backend, the backend is '${backend}'`],
    };
  }
  for (const name of order) {
    if (name === "native") {
      try {
        const loaded = loadNative();
        const threads = blasThreads();
        loaded.addon.setThreads(threads);
        addon = loaded.addon;
        return { ...base, name, blas: loaded.blas, threads: loaded.threadControl ? threads : null, skipped };
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        if (forced) throw new Error(`${ENV_VAR}=native cannot be used: ${why}`);
        skipped.push(`native: ${why}`);
        if (!warned) {
          warned = true;
          console.error(`softprompt-kit: native kernels unavailable (${why}); using the WebAssembly SIMD kernels`);
        }
        continue;
      }
    }
    return { ...base, name, skipped };
  }
  throw new Error("kernel-set: no kernel set could be chosen"); // unreachable: tfjs always runs
}

/** The kernel set for the current tfjs backend (chosen on first use, again if the backend changes). */
export function kernelSetInfo(): KernelSetInfo {
  const backend = tf.getBackend();
  if (!chosen || chosen.backend !== backend) chosen = choose(backend);
  return chosen;
}

export function activeKernels(): KernelSetName {
  return kernelSetInfo().name;
}

/** The loaded addon; only valid while the native set is active. */
export function native(): NativeAddon {
  if (activeKernels() !== "native" || !addon) throw new Error("kernel-set: the native kernels are not active");
  return addon;
}

/** A short label for logs and records, e.g. "native (libopenblas.so.0, 2 threads)", "wasm", "tfjs". */
export function kernelSetLabel(info: KernelSetInfo = kernelSetInfo()): string {
  if (info.name !== "native") return info.name;
  return `native (${info.blas}${info.threads !== null ? `, ${info.threads} thread${info.threads === 1 ? "" : "s"}` : ""})`;
}

/** Forgets the choice (tests switch KIT_KERNELS within one process). */
export function resetKernelSet(): void {
  chosen = null;
}
