/**
 * Divergence check for a training loop: a run whose training loss explodes far above where it started has
 * diverged (too large a learning rate, usually), and its weights and scores are not a result. Non-finite losses
 * are caught by the optimizer step (NonFiniteLossError); this catches the finite explosions (loss 5e30).
 *
 * Rule: the mean loss of the last WINDOW steps exceeds FACTOR x max(first step's loss, 1). Averaging over a
 * window keeps one unlucky batch from failing a healthy run; the floor of 1 nat keeps a run that starts near 0
 * loss (an easy task) from failing on ordinary noise. With FACTOR 10 a classification run must average more than
 * 10 nats per example (the correct class at e^-10 probability, far worse than chance) to count as diverged.
 */
export const DIVERGENCE_FACTOR = 10;
export const DIVERGENCE_WINDOW = 5;

export class DivergenceWatch {
  private start: number | null = null;
  private readonly recent: number[] = [];

  /** Records the loss of `step` (1-based) of `total`; throws once the run has diverged. */
  observe(loss: number, step: number, total: number): void {
    if (this.start === null) this.start = loss;
    this.recent.push(loss);
    if (this.recent.length > DIVERGENCE_WINDOW) this.recent.shift();
    const mean = this.recent.reduce((s, x) => s + x, 0) / this.recent.length;
    const limit = DIVERGENCE_FACTOR * Math.max(this.start, 1);
    if (mean > limit) {
      throw new Error(
        `training diverged at step ${step} of ${total}: mean training loss of the last ${this.recent.length} step(s) ${mean.toPrecision(3)} ` +
          `is over ${DIVERGENCE_FACTOR}x its start (${this.start.toPrecision(3)}); lower the learning rate`,
      );
    }
  }
}
