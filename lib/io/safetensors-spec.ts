/** Checking loaded safetensors tensors (or header entries) against an expected spec. */
import { SafetensorsError, type SafeDType } from "./safetensors-format";

/** Expected dtype and shape of one tensor. */
export interface TensorSpec {
  shape: number[];
  dtype: SafeDType;
}

export interface SpecProblem {
  kind: "missing" | "unexpected" | "shape" | "dtype";
  tensor: string;
  /** One line naming the file, tensor, and expected vs got. */
  message: string;
}

export interface SpecCheckOptions {
  /** Tolerate tensors in the file that the spec does not list (default false). */
  allowUnexpected?: boolean;
  /** Treat F32, F16 and BF16 as interchangeable (they all decode to Float32Array; default false). */
  anyFloatPrecision?: boolean;
}

/**
 * Compare loaded tensors (or header infos) with a spec; one problem per missing tensor, unexpected
 * tensor, wrong shape and wrong dtype, sorted by tensor name.
 */
export function specProblems(
  spec: Record<string, TensorSpec>,
  loaded: Record<string, { dtype: SafeDType; shape: number[] }>,
  label: string,
  options: SpecCheckOptions = {},
): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const where = (t: string): string => `${label}: tensor ${JSON.stringify(t)}`;
  const isFloat = (d: SafeDType): boolean => d === "F32" || d === "F16" || d === "BF16";
  const names = [...new Set([...Object.keys(spec), ...Object.keys(loaded)])].sort();
  for (const name of names) {
    const want = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined;
    const got = Object.prototype.hasOwnProperty.call(loaded, name) ? loaded[name] : undefined;
    if (want !== undefined && got === undefined) {
      problems.push({
        kind: "missing",
        tensor: name,
        message: `${where(name)}: missing (expected ${want.dtype} [${want.shape.join(", ")}])`,
      });
    } else if (want === undefined && got !== undefined) {
      if (!options.allowUnexpected) {
        problems.push({
          kind: "unexpected",
          tensor: name,
          message: `${where(name)}: unexpected tensor (${got.dtype} [${got.shape.join(", ")}]) not in the expected set`,
        });
      }
    } else if (want !== undefined && got !== undefined) {
      if (!sameShape(want.shape, got.shape)) {
        problems.push({
          kind: "shape",
          tensor: name,
          message: `${where(name)}: wrong shape: expected [${want.shape.join(", ")}], got [${got.shape.join(", ")}]`,
        });
      }
      const dtypeOk =
        got.dtype === want.dtype || (options.anyFloatPrecision === true && isFloat(got.dtype) && isFloat(want.dtype));
      if (!dtypeOk) {
        problems.push({
          kind: "dtype",
          tensor: name,
          message: `${where(name)}: wrong dtype: expected ${want.dtype}, got ${got.dtype}`,
        });
      }
    }
  }
  return problems;
}

/** Throw a SafetensorsError listing every problem `specProblems` finds (one per line); else return. */
export function validateAgainst(
  spec: Record<string, TensorSpec>,
  loaded: Record<string, { dtype: SafeDType; shape: number[] }>,
  label: string,
  options: SpecCheckOptions = {},
): void {
  const problems = specProblems(spec, loaded, label, options);
  if (problems.length === 0) return;
  throw new SafetensorsSpecError(label, problems);
}

/** Thrown by `validateAgainst`: every mismatch, one per line of the message and in `problems`. */
export class SafetensorsSpecError extends SafetensorsError {
  readonly problems: readonly SpecProblem[];

  constructor(file: string, problems: readonly SpecProblem[]) {
    super(
      file,
      undefined,
      `${problems.length} tensor(s) do not match the expected set:\n  ${problems.map((p) => p.message).join("\n  ")}`,
    );
    this.name = "SafetensorsSpecError";
    this.problems = problems;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------
