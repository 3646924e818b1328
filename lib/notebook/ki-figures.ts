/**
 * Figures of a knowledge-inheritance experiment (notebook 06): per seed, the validation loss of both arms against
 * optimizer steps, with the band where the teacher still teaches, the target (the scratch run's final loss) and
 * the step where KI reaches it; and both arms of every seed against training time.
 */
import type { KiExperimentResult, KiSeedResult, RunSummary } from "../pretrain/ki-experiment";
import type { Figure } from "../viz/figure";
import { PALETTE } from "./figures";
import { percentOrNotReached } from "./ki-tables";

function runTrace(run: RunSummary, name: string, color: string) {
  return {
    type: "scatter",
    mode: "lines+markers",
    name: `${name} (final ${run.finalValLoss.toFixed(3)}, ppl ${run.finalValPerplexity.toFixed(1)})`,
    x: run.curve.map((p) => p.step),
    y: run.curve.map((p) => p.valLoss),
    marker: { color, size: 5 },
    line: { color },
  };
}

/** One seed: validation loss vs step, scratch and KI; shaded while a_t > 0; target line; where KI reaches it. */
export function kiSeedFigure(r: KiExperimentResult, s: KiSeedResult): Figure {
  const lastStep = (run: RunSummary) => run.curve[run.curve.length - 1]?.step ?? 0;
  const last = Math.max(lastStep(s.scratch), lastStep(s.ki));
  const target = s.saving.target;
  const shapes: unknown[] = [
    {
      type: "rect",
      xref: "x",
      yref: "paper",
      x0: 0,
      x1: Math.min(r.options.kiEndStep, last),
      y0: 0,
      y1: 1,
      fillcolor: "#ff7f0e",
      opacity: 0.08,
      line: { width: 0 },
    },
    {
      type: "line",
      xref: "x",
      yref: "y",
      x0: 0,
      x1: last,
      y0: target,
      y1: target,
      line: { dash: "dot", color: "#555", width: 1 },
    },
  ];
  const annotations: unknown[] = [
    {
      xref: "x",
      yref: "y",
      x: 0,
      y: target,
      xanchor: "left",
      yanchor: "top",
      showarrow: false,
      text: `target: scratch's final ${target.toFixed(3)}`,
    },
  ];
  if (s.saving.kiSteps !== null) {
    const at = s.saving.kiSteps;
    shapes.push({
      type: "line",
      xref: "x",
      yref: "paper",
      x0: at,
      x1: at,
      y0: 0,
      y1: 1,
      line: { dash: "dash", color: PALETTE[1], width: 1 },
    });
    annotations.push({
      xref: "x",
      yref: "paper",
      x: at,
      y: 1,
      yanchor: "bottom",
      showarrow: false,
      text: `KI reaches it at step ${at.toFixed(0)} (saved ${percentOrNotReached(s.saving.saved)})`,
    });
  }
  return {
    data: [
      runTrace(s.scratch, "from scratch", PALETTE[0]!),
      runTrace(s.ki, `with KI from ${r.teacher.name}`, PALETTE[1]!),
    ],
    layout: {
      title: {
        text: `${r.student.name}, seed ${s.seed}: validation loss, from scratch vs knowledge inheritance (a_t > 0 shaded)`,
      },
      xaxis: { title: { text: "optimizer step" } },
      yaxis: { title: { text: "validation loss (nats/token)" } },
      shapes,
      annotations,
      legend: { orientation: "h", y: -0.2 },
      height: 420,
    },
  };
}

/** Every seed's two arms against training minutes (the teacher's forward passes included in KI's time). */
export function kiTimeFigure(r: KiExperimentResult): Figure {
  const dashes = ["solid", "dot", "dash"];
  const line = (run: RunSummary, name: string, color: string, i: number) => ({
    type: "scatter",
    mode: "lines",
    name,
    x: run.curve.map((p) => p.seconds / 60),
    y: run.curve.map((p) => p.valLoss),
    line: { color, dash: dashes[i % dashes.length] },
  });
  return {
    data: r.seeds.flatMap((s, i) => [
      line(s.scratch, `scratch, seed ${s.seed}`, PALETTE[0]!, i),
      line(s.ki, `KI, seed ${s.seed}`, PALETTE[1]!, i),
    ]),
    layout: {
      title: { text: `${r.student.name}: validation loss against training time (teacher's forward passes included)` },
      xaxis: { title: { text: "training minutes (evaluation excluded)" } },
      yaxis: { title: { text: "validation loss (nats/token)" } },
      legend: { orientation: "h", y: -0.3 },
      height: 400,
    },
  };
}
