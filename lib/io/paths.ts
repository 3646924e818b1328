/** Paths relative to a root folder (the project root, a run folder): one rule for "is this inside that". */
import * as path from "node:path";

/**
 * `file` relative to `root` when it lies strictly inside it (both resolved against the working directory), else
 * null: the root itself, a sibling (`../x`) and another drive are not inside.
 */
export function relativeInside(root: string, file: string): string | null {
  const rel = path.relative(path.resolve(root), path.resolve(file));
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel) ? rel : null;
}
