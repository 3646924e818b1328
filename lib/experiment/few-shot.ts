/** Few-shot sampling: keep a fixed number of training examples per label, chosen by a seed. */
import { Rng } from "../backend/random";
import type { TaskData } from "../tasks/data/example";

/** Keeps `perClass` training examples of each label, sampled with `seed`; dev and test are untouched. */
export function fewShot(data: TaskData, perClass: number, seed: number): TaskData {
  const rng = new Rng(seed);
  const byLabel = new Map<string, number[]>();
  data.train.forEach((e, i) => byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), i]));
  const keep = new Set<number>();
  for (const idx of byLabel.values())
    rng
      .shuffle(idx)
      .slice(0, perClass)
      .forEach((i) => keep.add(i));
  return { ...data, train: data.train.filter((_, i) => keep.has(i)) };
}
