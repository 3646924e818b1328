/**
 * The built-in tasks by name, each with its loader and the default options experiments use, so
 * other code can write `loadTask("yelp", { seed })`. Options given to loadTask override the
 * defaults field by field. (User files go through loadTaskFile, which is async.)
 */
import type { TaskData } from "./example";
import { loadSentiment, type SentimentOptions } from "./sentiment";
import { loadSpamAssassin, type SpamAssassinOptions } from "./spam-assassin";
import { DEFAULT_SPLIT_OPTIONS } from "./split";
import { loadWordNetPairs, type WordNetPairOptions } from "./wordnet-pairs";

const SPLIT = { seed: DEFAULT_SPLIT_OPTIONS.seed, devFraction: 0.1, testFraction: 0.2 } as const;

export const TASK_SOURCES = Object.freeze({
  imdb: {
    load: (o: SentimentOptions) => loadSentiment("imdb", o),
    defaults: Object.freeze({ ...SPLIT }) as SentimentOptions,
  },
  amazon: {
    load: (o: SentimentOptions) => loadSentiment("amazon", o),
    defaults: Object.freeze({ ...SPLIT }) as SentimentOptions,
  },
  yelp: {
    load: (o: SentimentOptions) => loadSentiment("yelp", o),
    defaults: Object.freeze({ ...SPLIT }) as SentimentOptions,
  },
  /** Balanced 1000 ham / 1000 spam sample; pass maxPerClass: null for the full cleaned corpus (4071 / 1698). */
  spam: {
    load: (o: SpamAssassinOptions) => loadSpamAssassin(o),
    defaults: Object.freeze({ ...SPLIT, maxChars: 400, maxPerClass: 1000 }) as SpamAssassinOptions,
  },
  "wordnet-pairs": {
    load: (o: WordNetPairOptions) => loadWordNetPairs(o),
    defaults: Object.freeze({
      ...SPLIT,
      maxPairs: 4000,
      morphology: "exclude",
      withGloss: false,
    }) as WordNetPairOptions,
  },
} as const);

export type TaskName = keyof typeof TASK_SOURCES;
export const TASK_NAMES = Object.freeze(Object.keys(TASK_SOURCES) as TaskName[]);

/** Options accepted by the named task's loader. */
export type TaskOptions<N extends TaskName> = Parameters<(typeof TASK_SOURCES)[N]["load"]>[0];

/** Load a built-in task with its defaults overridden by `options`. */
export function loadTask<N extends TaskName>(name: N, options: TaskOptions<N> = {} as TaskOptions<N>): TaskData {
  if (!Object.prototype.hasOwnProperty.call(TASK_SOURCES, name)) {
    throw new Error(`unknown task ${JSON.stringify(name)}, expected one of [${TASK_NAMES.join(", ")}]`);
  }
  const source = TASK_SOURCES[name] as unknown as { load: (o: TaskOptions<N>) => TaskData; defaults: TaskOptions<N> };
  const merged = { ...source.defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) merged[k] = v;
  return source.load(merged as TaskOptions<N>);
}
