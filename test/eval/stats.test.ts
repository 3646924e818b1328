import { strict as assert } from "node:assert";
import {
  bootstrapCI,
  mean,
  pairedDifference,
  quantileSorted,
  resolveBootstrapOptions,
  std,
  summarize,
} from "../../lib/eval/stats";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b}`);

describe("eval/stats", () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];

  it("mean and sample std (n-1)", () => {
    close(mean(xs), 5);
    close(std(xs), Math.sqrt(32 / 7));
    assert.equal(std([3.5]), 0);
    close(std([1, 2]), Math.SQRT1_2);
  });

  it("quantiles interpolate linearly between order statistics", () => {
    close(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    close(quantileSorted([1, 2, 3, 4], 0), 1);
    close(quantileSorted([1, 2, 3, 4], 1), 4);
    close(quantileSorted([10, 20], 0.25), 12.5);
  });

  it("bootstrap CI is deterministic for a seed, depends on the seed, and contains the mean", () => {
    const vals = [0.713, 0.7402, 0.6891, 0.8017, 0.7733, 0.7551, 0.7208, 0.7949];
    const a = bootstrapCI(vals, { seed: 3 });
    const b = bootstrapCI(vals, { seed: 3 });
    assert.deepEqual(a, b);
    const c = bootstrapCI(vals, { seed: 4 });
    assert.notDeepEqual(a, c);
    const m = mean(vals);
    assert.ok(a.low < m && m < a.high, `${a.low} < ${m} < ${a.high}`);
    assert.ok(a.low >= Math.min(...vals) && a.high <= Math.max(...vals));
    // seed 0 is a real seed, and the default
    assert.deepEqual(bootstrapCI(vals), bootstrapCI(vals, { seed: 0 }));
  });

  it("higher level gives a wider interval", () => {
    const vals = [1, 3, 2, 5, 4, 6, 2];
    const narrow = bootstrapCI(vals, { level: 0.5, seed: 1, resamples: 2000 });
    const wide = bootstrapCI(vals, { level: 0.99, seed: 1, resamples: 2000 });
    assert.ok(wide.low < narrow.low && wide.high > narrow.high, JSON.stringify({ narrow, wide }));
  });

  it("bootstrap CI approximates the normal-theory interval for a larger sample", () => {
    // 40 values 0..39: mean 19.5, se = sd/sqrt(n) with population sd ~ 11.54 -> +-1.96*1.825 ~ +-3.58
    const vals = Array.from({ length: 40 }, (_, i) => i);
    const ci = bootstrapCI(vals, { seed: 11 });
    close(ci.low, 19.5 - 3.58, 0.4);
    close(ci.high, 19.5 + 3.58, 0.4);
  });

  it("single value and constant values collapse the interval", () => {
    assert.deepEqual(summarize([0.9], 1), { n: 1, mean: 0.9, std: 0, ciLow: 0.9, ciHigh: 0.9 });
    const s = summarize([0.1, 0.1, 0.1], 1);
    assert.equal(s.ciLow, 0.1);
    assert.equal(s.ciHigh, 0.1);
  });

  it("summarize reports n, mean, std and CI", () => {
    const s = summarize(xs, 5);
    assert.equal(s.n, 8);
    close(s.mean, 5);
    close(s.std, Math.sqrt(32 / 7));
    assert.ok(s.ciLow < 5 && s.ciHigh > 5);
    assert.deepEqual(summarize(xs, 5), s);
  });

  it("pairedDifference summarises matched differences", () => {
    const a = [0.8, 0.7, 0.9];
    const b = [0.7, 0.65, 0.8];
    const d = pairedDifference(a, b, 2);
    assert.equal(d.n, 3);
    close(d.mean, (0.1 + 0.05 + 0.1) / 3, 1e-12);
    close(d.std, std([0.8 - 0.7, 0.7 - 0.65, 0.9 - 0.8]), 1e-12);
    assert.ok(d.ciLow >= 0.05 - 1e-12 && d.ciHigh <= 0.1 + 1e-12);
    assert.throws(() => pairedDifference([1, 2], [1]), /same length, got a.length=2, b.length=1/);
  });

  it("rejects bad input and options", () => {
    assert.throws(() => mean([]), /no values/);
    assert.throws(() => std([1, NaN]), /values\[1\] must be a finite number, got NaN/);
    assert.throws(() => resolveBootstrapOptions({ level: 1.5 }), /level must be a number in \(0, 1\), got 1.5/);
    assert.throws(() => resolveBootstrapOptions({ resamples: 0 }), /resamples must be a positive integer, got 0/);
    assert.throws(() => bootstrapCI([1, 2], { seed: 0.5 }), /seed must be an integer, got 0.5/);
  });
});
