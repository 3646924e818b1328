/**
 * The closing cell of a notebook states what must hold whatever the accuracies; the headless runner fails the
 * notebook when a check throws. `check` keeps each statement to one line.
 */

/** Throws `message` (prefixed "check failed: ") unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new Error(`check failed: ${typeof message === "string" ? message : message()}`);
}

/** Prints "checks passed" (with a detail) for the notebook's last line. */
export function checksPassed(detail?: string, log: (line: string) => void = console.log): void {
  log(detail ? `checks passed (${detail})` : "checks passed");
}
