/**
 * What MoE blocks report from a forward pass, collected only while a caller asks for it: the Switch
 * load-balancing loss of each block (a scalar tensor on the tape, so pre-training can add it to the LM loss) and
 * the routing counts (dropped tokens per block). Tuning methods that never call `withMoeProbe` ignore both: the
 * LM loss alone is what they optimise.
 *
 *   aux = E * sum_e f_e * P_e   (f_e: fraction of rows whose first choice is e; P_e: mean router probability of e)
 */
import { tf } from "../../backend/backend";

export interface RoutingRecord {
  readonly layer: number;
  readonly rows: number;
  readonly capacity: number;
  readonly droppedAssignments: number;
  readonly droppedRows: number;
  /** rows sent to each expert (kept assignments). */
  readonly load: readonly number[];
}

export interface MoeProbe {
  /** the load-balancing loss of each MoE block run, in order (tensors owned by the caller's tidy scope). */
  readonly auxLosses: tf.Scalar[];
  readonly routing: RoutingRecord[];
}

let active: MoeProbe | null = null;

/** The probe collecting for the forward pass in progress, if any. */
export function currentProbe(): MoeProbe | null {
  return active;
}

/** Runs `f` with a fresh probe collecting what its forward passes' MoE blocks report. */
export function withMoeProbe<T>(f: () => T): { value: T; probe: MoeProbe } {
  const outer = active;
  const probe: MoeProbe = { auxLosses: [], routing: [] };
  active = probe;
  try {
    return { value: f(), probe };
  } finally {
    active = outer;
  }
}

/** Sum of the probe's load-balancing losses (0 for a dense model), a scalar on the tape. */
export function totalAuxLoss(probe: MoeProbe): tf.Scalar {
  if (probe.auxLosses.length === 0) return tf.scalar(0);
  return probe.auxLosses.length === 1 ? probe.auxLosses[0]! : (tf.addN(probe.auxLosses) as tf.Scalar);
}
