/**
 * The cluster launchers, run here with the scheduler's environment faked: each must turn its scheduler's index
 * into `grid SPEC --out DIR --shard I/N` (checked with a fake `node` that records its arguments), and refuse a
 * mismatched array or index. What cannot run here (sbatch, a Kubernetes cluster) is listed in deploy/README.md.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseShardSpec } from "../../lib/experiment/shards";

const ROOT = path.resolve(__dirname, "../../..");
const SBATCH = path.join(ROOT, "deploy/slurm/grid-array.sbatch");
const COLLECT = path.join(ROOT, "deploy/slurm/grid-collect.sbatch");
const JOB = path.join(ROOT, "deploy/k8s/grid-indexed-job.yaml");

describe("deploy launchers", () => {
  let dir: string;
  let fakeNode: string;
  let argsFile: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "launchers-"));
    argsFile = path.join(dir, "args.json");
    fakeNode = path.join(dir, "fake-node");
    fs.writeFileSync(
      fakeNode,
      `#!/usr/bin/env node\nrequire("fs").writeFileSync(${JSON.stringify(argsFile)}, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), blas: process.env.OPENBLAS_NUM_THREADS }));\n`,
    );
    fs.chmodSync(fakeNode, 0o755);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (cmd: string, args: string[], env: Record<string, string>) =>
    spawnSync(cmd, args, {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", KIT_NODE: fakeNode, KIT_DIR: ROOT, ...env },
      encoding: "utf8",
    });
  const recorded = (): { args: string[]; cwd: string; blas: string } => JSON.parse(fs.readFileSync(argsFile, "utf8"));

  it("Slurm array task I of N runs grid --shard I/N", () => {
    const r = run("bash", [SBATCH, "grids/g.json", "runs/g", "--workers", "1"], {
      SLURM_ARRAY_TASK_ID: "3",
      SLURM_ARRAY_TASK_COUNT: "8",
      SLURM_ARRAY_TASK_MIN: "0",
      SLURM_ARRAY_TASK_MAX: "7",
      SLURM_CPUS_PER_TASK: "2",
    });
    assert.equal(r.status, 0, r.stderr);
    const got = recorded();
    assert.deepEqual(got.args, [
      "build/scripts/grid.js",
      "grids/g.json",
      "--out",
      "runs/g",
      "--shard",
      "3/8",
      "--workers",
      "1",
    ]);
    assert.equal(got.cwd, ROOT);
    assert.equal(got.blas, "2");
    assert.deepEqual(parseShardSpec(got.args[5]), { index: 3, count: 8 });
    assert.match(r.stdout, /shard 3\/8 of grids\/g\.json -> runs\/g\/shards\/3-of-8/);
  });

  it("Slurm: refuses outside an array, and an array that is not 0..N-1", () => {
    let r = run("bash", [SBATCH, "g.json", "out"], {});
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not a Slurm array task .* usage: sbatch --array=0-N-1/);
    r = run("bash", [SBATCH, "g.json", "out"], {
      SLURM_ARRAY_TASK_ID: "5",
      SLURM_ARRAY_TASK_COUNT: "4",
      SLURM_ARRAY_TASK_MIN: "2",
      SLURM_ARRAY_TASK_MAX: "5",
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the array must be --array=0-3 \(ids 0\.\.N-1, no gaps\); got ids 2-5 step 1 with 4 tasks/);
    r = run("bash", [SBATCH, "g.json"], { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "1" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /usage: sbatch --array=0-N-1 deploy\/slurm\/grid-array\.sbatch GRID\.json OUT_DIR/);
    assert.ok(!fs.existsSync(argsFile), "grid never started");
  });

  it("Slurm collect job runs grid --collect", () => {
    const r = run("bash", [COLLECT, "grids/g.json", "runs/g"], {});
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(recorded().args, ["build/scripts/grid.js", "grids/g.json", "--out", "runs/g", "--collect"]);
  });

  it("Kubernetes Indexed Job: completions = SHARDS, pod I runs grid --shard I/N, an index out of range is refused", () => {
    const py = spawnSync(
      "/usr/bin/python3",
      ["-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", JOB],
      { encoding: "utf8" },
    );
    assert.equal(py.status, 0, py.stderr);
    const job = JSON.parse(py.stdout);
    assert.equal(job.kind, "Job");
    assert.equal(job.spec.completionMode, "Indexed");
    const c = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.equal(Number(env.SHARDS), job.spec.completions, "SHARDS must equal spec.completions");
    assert.equal(job.spec.template.spec.restartPolicy, "Never");
    const [shell, flag] = c.command;
    const script: string = c.args[0];
    const sh = (index: string | undefined) =>
      spawnSync(shell, [flag, script], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          KIT_NODE: fakeNode,
          ...env,
          ...(index === undefined ? {} : { JOB_COMPLETION_INDEX: index }),
        },
        encoding: "utf8",
      });
    let r = sh("5");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(recorded().args, [
      "build/scripts/grid.js",
      env.GRID,
      "--out",
      env.OUT,
      "--shard",
      `5/${env.SHARDS}`,
    ]);
    fs.rmSync(argsFile);
    r = sh(String(job.spec.completions));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /JOB_COMPLETION_INDEX=8 is not a shard of SHARDS=8: set spec\.completions to 8/);
    r = sh(undefined);
    assert.equal(r.status, 2);
    assert.ok(!fs.existsSync(argsFile));
  });
});
