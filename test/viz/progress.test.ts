import { strict as assert } from "node:assert";
import { progressHtml, progressLine, ProgressTracker, textBar, Throttle } from "../../lib/viz/progress";

describe("viz/progress", () => {
  it("computes rate, tokens/s and ETA from the supplied clock", () => {
    const p = new ProgressTracker(100, 1000, "train");
    assert.ok(Number.isNaN(p.snapshot(1000).etaSec));
    p.update(10, { loss: 2.5, tokens: 4000 }, 3000); // 10 steps in 2 s
    p.update(25, { loss: 2.0, tokens: 6000 }, 6000); // 25 steps, 10k tokens in 5 s
    const s = p.snapshot(6000);
    assert.equal(s.stepsPerSec, 5);
    assert.equal(s.tokensPerSec, 2000);
    assert.equal(s.etaSec, 15); // 75 steps left at 5 steps/s
    assert.equal(s.loss, 2.0);
    assert.equal(s.fraction, 0.25);
    assert.equal(s.done, false);
  });

  it("finish sets ETA to 0 and marks done", () => {
    const p = new ProgressTracker(10, 0);
    p.update(4, {}, 1000);
    p.finish(2000);
    const s = p.snapshot(2000);
    assert.equal(s.etaSec, 0);
    assert.equal(s.done, true);
  });

  it("keeps the latest metrics", () => {
    const p = new ProgressTracker(10, 0);
    p.update(1, { metrics: { lr: 0.1, acc: 0.5 } }, 10);
    p.update(2, { metrics: { acc: 0.75 } }, 20);
    assert.deepEqual(p.snapshot().metrics, { lr: 0.1, acc: 0.75 });
  });

  it("renders a text line with every statistic", () => {
    const p = new ProgressTracker(200, 0, "train");
    p.update(50, { loss: 2.34561, tokens: 123000 }, 10_000);
    assert.equal(
      progressLine(p.snapshot(10_000)),
      "train [#####---------------]  25% 50/200 | loss 2.3456 | 12.3k tok/s | 0:10 elapsed | ETA 0:30",
    );
    const q = new ProgressTracker(3, 0);
    q.update(1, {}, 2000);
    assert.equal(progressLine(q.snapshot(2000), 6), "[##----]  33% 1/3 | 0.500 step/s | 0:02 elapsed | ETA 0:04");
  });

  it("renders HTML with the bar width and escaped label", () => {
    const p = new ProgressTracker(4, 0, "<fit>");
    p.update(1, { loss: 1 }, 1000);
    const html = progressHtml(p.snapshot(1000));
    assert.match(html, /width:25\.0%/);
    assert.match(html, /&lt;fit&gt;/);
    assert.match(html, /loss 1 · 1 step\/s · 0:01 elapsed · ETA 0:03/);
  });

  it("textBar clamps and fills proportionally", () => {
    assert.equal(textBar(0.5, 4), "##--");
    assert.equal(textBar(2, 3), "###");
    assert.equal(textBar(NaN, 2), "--");
  });

  it("rejects bad steps, totals and token counts with the value", () => {
    assert.throws(() => new ProgressTracker(0, 0), /total must be a positive integer number of steps, got 0/);
    const p = new ProgressTracker(5, 0, "fit");
    assert.throws(() => p.update(6, {}, 1), /progress 'fit': step must be an integer in 0\.\.5, got 6/);
    assert.throws(() => p.update(1.5, {}, 1), /got 1\.5/);
    assert.throws(() => p.update(1, { tokens: -3 }, 1), /tokens must be a non-negative count .* got -3/);
  });

  it("Throttle lets one event per interval through, forced ones always", () => {
    const t = new Throttle(100);
    assert.equal(t.ready(0), true);
    assert.equal(t.ready(50), false);
    assert.equal(t.ready(60, true), true);
    assert.equal(t.ready(150), false);
    assert.equal(t.ready(160), true);
    assert.throws(() => new Throttle(-1), /interval must be a finite number of ms >= 0, got -1/);
  });
});
