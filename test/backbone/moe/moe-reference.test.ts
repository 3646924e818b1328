/**
 * The kit's mixture-of-experts GPT-2 against an independent PyTorch implementation (moe_reference.py): Switch
 * top-1 and GShard top-2 routing with capacity drops, on tiny random models written by PyTorch in the kit's
 * layout. Logits agree within 1e-4, the load-balancing loss and drop counts agree, and the gradient of
 * CE + coef * aux agrees for the input embeddings and a router weight.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { tf } from "../../../lib/backend/backend";
import { crossEntropy } from "../../../lib/backend/cross-entropy";
import { configFromJson } from "../../../lib/backbone/hf-config";
import { moeSettings } from "../../../lib/backbone/moe/moe-config";
import { totalAuxLoss, withMoeProbe } from "../../../lib/backbone/moe/moe-probe";
import { Transformer } from "../../../lib/backbone/transformer";
import { readSafetensorsFile } from "../../../lib/io/safetensors";
import { setupBackend } from "../../helpers";

const PYTHON = "/usr/bin/python3";
const SCRIPT = path.resolve(__dirname, "../../../../test/backbone/moe/moe_reference.py");
const TOL = 1e-4;
const B = 2;
const T = 6;

interface Expected {
  ids: number[];
  targets: number[];
  logits: number[];
  aux: number;
  ce: number;
  stats: { dropped_assignments: number; dropped_rows: number }[];
  grad_x: number[];
  grad_router: number[];
}

function close(got: ArrayLike<number>, want: number[], label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  assert.ok(worst <= TOL, `${label}: max |kit - torch| = ${worst}`);
}

export function loadReference(dir: string): { model: Transformer; expected: Expected } {
  const config = configFromJson(JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")), "config.json");
  const { tensors } = readSafetensorsFile(path.join(dir, "model.safetensors"));
  const arrays = new Map<string, Float32Array>();
  for (const [name, t] of Object.entries(tensors)) arrays.set(name, t.data as Float32Array);
  const model = Transformer.fromArrays(config, arrays);
  return { model, expected: JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8")) as Expected };
}

describe("mixture-of-experts GPT-2 vs an independent PyTorch reference", function () {
  this.timeout(120_000);
  let root: string | null = null;

  before(async function () {
    await setupBackend();
    if (spawnSync(PYTHON, ["-c", "import torch"], { timeout: 60_000 }).status !== 0) {
      console.log("    (skipped: /usr/bin/python3 with torch is not available)");
      this.skip();
    }
    root = fs.mkdtempSync(path.join(os.tmpdir(), "kit-moe-ref-"));
    const run = spawnSync(PYTHON, [SCRIPT, root], { encoding: "utf8", timeout: 120_000 });
    if (run.status !== 0) throw new Error(`${SCRIPT} failed:\n${run.stderr}`);
  });

  after(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  for (const variant of ["switch-top1", "gshard-top2"]) {
    it(`${variant}: logits, aux loss, drops and gradients agree`, () => {
      const { model, expected } = loadReference(path.join(root!, variant));
      const s = moeSettings(model.config)!;
      const ids = Int32Array.from(expected.ids);
      const mask = new Float32Array(B * T).fill(1);
      const router = model.param(`h.${s.moeLayers[0]}.mlp.router.weight`);
      const x = tf.variable(model.embed(ids, B, T), true);
      const { value, probe } = withMoeProbe(() =>
        tf.tidy(() => {
          const logits = model.logits(tf.reshape(model.forwardEmbeddings(x, mask), [B * T, -1]));
          return { logits: logits.dataSync().slice() };
        }),
      );
      close(value.logits, expected.logits, `${variant} logits`);
      assert.deepEqual(
        probe.routing.map((r) => ({ dropped_assignments: r.droppedAssignments, dropped_rows: r.droppedRows })),
        expected.stats,
      );
      assert.ok(
        expected.stats.some((st) => st.dropped_assignments > 0),
        "the fixture exercises capacity drops",
      );
      const { grads, auxValue } = tf.tidy(() => {
        let auxValue = 0;
        const { value: g } = withMoeProbe(() =>
          tf.variableGrads(() => {
            const { value: logits, probe: p } = withMoeProbe(() =>
              model.logits(tf.reshape(model.forwardEmbeddings(x, mask), [B * T, -1])),
            );
            const aux = totalAuxLoss(p);
            auxValue = aux.dataSync()[0]!;
            const ce = crossEntropy(logits, Int32Array.from(expected.targets), new Float32Array(B * T).fill(1));
            return tf.add(ce, tf.mul(aux, s.routerAuxLossCoef)) as tf.Scalar;
          }, [x, router]),
        );
        return {
          grads: { x: g.grads[x.name]!.dataSync().slice(), router: g.grads[router.name]!.dataSync().slice() },
          auxValue,
        };
      });
      assert.ok(Math.abs(auxValue - expected.aux) < TOL, `aux ${auxValue} vs torch ${expected.aux}`);
      close(grads.x, expected.grad_x, `${variant} d loss / d embeddings`);
      close(grads.router, expected.grad_router, `${variant} d loss / d router`);
      x.dispose();
      model.dispose();
    });
  }
});
