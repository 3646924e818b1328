import { strict as assert } from "node:assert";
import { DisplaySink, SinkKind } from "../../lib/viz/display";
import { downsampleIndices, LiveCurve, ProgressBar } from "../../lib/viz/live";
import { MimeBundle, PLOTLY_MIME } from "../../lib/viz/mime";

/** A notebook-like sink that records what would be sent to Jupyter. */
class RecordingSink implements DisplaySink {
  readonly events: Array<{ op: "show" | "update"; id?: string; bundle: MimeBundle }> = [];
  constructor(readonly kind: SinkKind = "jupyter") {}
  show(bundle: MimeBundle, id?: string): void {
    this.events.push({ op: "show", id, bundle });
  }
  update(bundle: MimeBundle, id: string): void {
    this.events.push({ op: "update", id, bundle });
  }
}

/** A manual clock in ms. */
function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function textStream(isTTY: boolean): { write: (s: string) => boolean; isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  return { isTTY, write: (s) => (chunks.push(s), true), text: () => chunks.join("") };
}

describe("viz/live", () => {
  it("ProgressBar in a notebook shows once, then updates the same output, throttled", () => {
    const sink = new RecordingSink();
    const c = clock();
    const bar = new ProgressBar(10, { label: "fit", sink, now: c.now, notebookIntervalMs: 250 });
    for (let step = 1; step <= 10; step++) {
      c.advance(100);
      bar.update(step, { loss: 1 / step, tokens: 50 });
    }
    bar.finish();
    const [first, ...rest] = sink.events;
    assert.equal(first.op, "show");
    assert.ok(first.id);
    assert.ok(rest.every((e) => e.op === "update" && e.id === first.id));
    // t=0 show; updates at 300, 600, 900 ms; forced at step 10 (1000 ms) and at finish.
    assert.equal(rest.length, 5);
    const last = rest[rest.length - 1].bundle;
    assert.match(last["text/plain"], /^fit \[#+\] 100% 10\/10 \| loss 0\.1000 \| 500 tok\/s \| 0:01 elapsed \| done$/);
    assert.match(last["text/html"]!, /width:100\.0%/);
  });

  it("ProgressBar on a non-terminal stream writes a line per interval and a final line", () => {
    const sink = new RecordingSink("console");
    const out = textStream(false);
    const c = clock();
    const bar = new ProgressBar(100, { sink, stream: out, now: c.now, consoleIntervalMs: 5000 });
    for (let step = 1; step <= 100; step++) {
      c.advance(100);
      bar.update(step, { loss: 2 });
    }
    bar.finish();
    const lines = out.text().trimEnd().split("\n");
    assert.equal(sink.events.length, 0, "console mode never uses the display sink");
    assert.equal(lines.length, 3); // at 5 s, 10 s, and finish
    assert.match(lines[0], /\] {2}50% 50\/100 \| loss 2 \| 10 step\/s \| 0:05 elapsed \| ETA 0:05$/);
    assert.match(lines[2], /100% 100\/100 .* done$/);
  });

  it("ProgressBar on a terminal rewrites one line with \\r and ends with a newline", () => {
    const out = textStream(true);
    const c = clock();
    const bar = new ProgressBar(3, {
      sink: new RecordingSink("console"),
      stream: out,
      now: c.now,
      consoleIntervalMs: 0,
    });
    c.advance(1000);
    bar.update(1);
    bar.finish({ step: 3 });
    const text = out.text();
    assert.equal(text.split("\r").length - 1, 3); // initial, step 1, finish
    assert.match(text, /done *\n$/);
    assert.ok(!text.slice(0, -1).includes("\n"));
  });

  it("ProgressBar feeds the loss into its learning curve", () => {
    const sink = new RecordingSink();
    const c = clock();
    const bar = new ProgressBar(4, { label: "fit", sink, now: c.now, curve: true });
    for (let step = 1; step <= 4; step++) {
      c.advance(10);
      bar.update(step, step === 3 ? {} : { loss: 10 - step });
    }
    bar.finish();
    const fig = bar.curve!.figure();
    assert.deepEqual(fig.data[0].x, [1, 2, 4]);
    assert.deepEqual(fig.data[0].y, [9, 8, 6]);
    const figureEvents = sink.events.filter((e) => PLOTLY_MIME in e.bundle);
    assert.ok(figureEvents.length >= 2);
    assert.deepEqual(
      (figureEvents[figureEvents.length - 1].bundle[PLOTLY_MIME] as { data: Array<{ y: number[] }> }).data[0].y,
      [9, 8, 6],
    );
    assert.ok(
      sink.events.some((e) => /plotly\.js .* loaded/.test(e.bundle["text/plain"])),
      "plotly.js inlined first",
    );
    assert.throws(() => bar.update(4), /ProgressBar 'fit': update\(4\) after finish\(\)/);
  });

  it("LiveCurve throttles redraws and always draws on finish", () => {
    const sink = new RecordingSink();
    const c = clock(0);
    const curve = new LiveCurve({ sink, now: c.now, intervalMs: 1000, title: "loss" });
    for (let i = 0; i < 30; i++) {
      c.advance(100);
      curve.push("train", i, 1 / (i + 1));
      if (i % 10 === 0) curve.push("val", i, 2 / (i + 1));
    }
    curve.finish();
    const figures = sink.events.filter((e) => PLOTLY_MIME in e.bundle);
    // pushes span 0.1 s .. 3.0 s: redraws at 0.1, 1.1, 2.1 s, plus finish.
    assert.equal(figures.length, 4);
    assert.equal(figures[0].op, "show");
    assert.ok(figures.slice(1).every((e) => e.op === "update" && e.id === figures[0].id));
    const data = (figures[3].bundle[PLOTLY_MIME] as { data: Array<{ name: string; x: number[] }> }).data;
    assert.deepEqual(
      data.map((d) => [d.name, d.x.length]),
      [
        ["train", 30],
        ["val", 3],
      ],
    );
    curve.finish(); // nothing new: no redraw
    assert.equal(sink.events.filter((e) => PLOTLY_MIME in e.bundle).length, 4);
  });

  it("LiveCurve outside notebooks only collects points", () => {
    const sink = new RecordingSink("console");
    const curve = new LiveCurve({ sink, logY: true });
    curve.push("a", 1, 0.5);
    curve.finish();
    assert.equal(sink.events.length, 0);
    assert.equal((curve.figure().layout!["yaxis"] as { type: string }).type, "log");
    assert.throws(() => curve.push("a", NaN, 1), /LiveCurve.push\('a'\): x must be finite, got NaN/);
  });

  it("LiveCurve downsamples long series to maxPoints, keeping the ends", () => {
    const curve = new LiveCurve({ sink: new RecordingSink("console"), maxPoints: 5 });
    for (let i = 0; i < 101; i++) curve.push("s", i, i);
    assert.deepEqual(curve.figure().data[0].x, [0, 25, 50, 75, 100]);
    assert.deepEqual(downsampleIndices(3, 5), [0, 1, 2]);
    assert.deepEqual(downsampleIndices(10, 2), [0, 9]);
    assert.throws(() => downsampleIndices(10, 1), /max must be an integer >= 2, got 1/);
    assert.throws(() => new LiveCurve({ maxPoints: 1 }), /maxPoints must be an integer >= 2, got 1/);
  });
});
