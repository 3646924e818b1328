/**
 * Live progress of a runCells call: a progress bar over all training steps (or cells, for worker runs), a live
 * training-loss curve per cell (in-process runs), and in a notebook a small table of the cells finished last.
 * The console gets one line per grid event instead of the table.
 */
import type { Cell } from "../experiment/grid";
import type { CellProgress } from "../experiment/run-cell";
import { describeCell, describeGridEvent, type GridEvent } from "../experiment/runner";
import { formatDuration } from "../io/format";
import { DisplayHandle, type DisplaySink } from "../viz/display";
import { LiveCurve, ProgressBar, type ProgressStream } from "../viz/live";
import { renderTable } from "../viz/table";
import { cellLabels, cellUnits } from "./cell-labels";

export interface CellsProgressOptions {
  readonly cells: readonly Cell[];
  readonly pending: readonly Cell[];
  /** cellIds of pending cells copied from earlier results (no training, shown as "reused"). */
  readonly reused: ReadonlySet<string>;
  readonly label: string;
  readonly inProcess: boolean;
  readonly curve: boolean;
  readonly tableRows: number;
  readonly sink: DisplaySink;
  readonly stream: ProgressStream;
  readonly say: (text: string) => void;
}

export class CellsProgress {
  private readonly labels: Map<string, string>;
  private readonly units: Map<string, number>;
  private readonly totalUnits: number;
  private readonly notebook: boolean;
  private readonly curve: LiveCurve | null;
  private readonly bar: ProgressBar | null;
  private readonly table: DisplayHandle | null;
  private readonly finished: { cell: string; accuracy: string; seconds: string }[] = [];
  /** units of cells already finished in this call */
  private offset = 0;

  constructor(private readonly o: CellsProgressOptions) {
    this.labels = cellLabels(o.cells);
    this.units = new Map(o.cells.map((c) => [c.cellId, o.reused.has(c.cellId) ? 0 : o.inProcess ? cellUnits(c) : 1]));
    this.totalUnits = Math.max(
      1,
      o.pending.reduce((s, c) => s + this.units.get(c.cellId)!, 0),
    );
    this.notebook = o.sink.kind !== "console";
    this.curve =
      o.inProcess && o.curve && o.pending.some((c) => this.units.get(c.cellId)! > 1)
        ? new LiveCurve({ title: `${o.label}: training loss per cell`, yTitle: "training loss", sink: o.sink })
        : null;
    this.bar =
      o.pending.length > o.reused.size
        ? new ProgressBar(this.totalUnits, { label: o.label, sink: o.sink, stream: o.stream })
        : null;
    this.table = this.notebook ? new DisplayHandle(o.sink) : null;
  }

  /** Per-step progress of a cell that starts now (in-process runs only; worker runs report no steps). */
  cellProgress(cell: Cell): CellProgress {
    const base = this.offset;
    const name = this.labels.get(cell.cellId) ?? describeCell(cell);
    return {
      onStep: (step, _total, loss) => {
        if (!this.o.inProcess) return;
        this.bar?.update(Math.min(base + step, this.totalUnits), { loss });
        if (Number.isFinite(loss)) this.curve?.push(name, step, loss);
      },
    };
  }

  onGridEvent(ev: GridEvent): void {
    if (ev.type === "cell-finish" || ev.type === "cell-error") {
      this.offset += this.units.get(ev.cell.cellId)!;
      this.bar?.update(
        Math.min(this.offset, this.totalUnits),
        ev.type === "cell-finish" ? { metrics: { "last acc": ev.record.metrics.accuracy } } : {},
      );
      this.finished.push({
        cell: this.labels.get(ev.cell.cellId)!,
        accuracy:
          ev.type === "cell-finish"
            ? ev.record.metrics.accuracy.toFixed(4)
            : `FAILED: ${ev.error.message.slice(0, 80)}`,
        seconds: this.o.reused.has(ev.cell.cellId) ? "reused" : formatDuration(ev.cellSeconds),
      });
      this.renderTable();
    }
    // The console gets one line per event; a notebook shows the bar and the table instead.
    if (!this.notebook && ev.type !== "resume") this.o.say(`[${this.o.label}] ${describeGridEvent(ev)}`);
  }

  finish(): void {
    this.bar?.finish();
    this.curve?.finish();
  }

  private renderTable(): void {
    if (!this.table || this.finished.length === 0) return;
    const shown = this.finished.slice(-this.o.tableRows);
    const { html, text } = renderTable(shown, {
      title: `finished ${this.finished.length} of ${this.o.pending.length}${this.finished.length > shown.length ? ` (last ${shown.length})` : ""}`,
    });
    this.table.render({ "text/html": html, "text/plain": text });
  }
}
