/**
 * UCI "Sentiment Labelled Sentences" (Kotzias, Denil, de Freitas & Smyth, "From Group to Individual
 * Labels using Deep Features", KDD 2015; UCI Machine Learning Repository; CC BY 4.0): 1000 review
 * sentences per domain (IMDb movies, Amazon products, Yelp restaurants), 500 labelled 0 = negative
 * and 500 labelled 1 = positive.
 *
 * The sentences ship as test fixtures of the `sentiment` npm package:
 * node_modules/sentiment/test/fixtures/{imdb,amazon,yelp}.json, each a JSON array of
 * {"text": string, "class": 0 | 1}. Each file ends with one placeholder {"text": "", "class": null},
 * which is dropped. Texts are trimmed and internal whitespace runs collapsed to one space; nothing
 * else is changed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { buildTask, installedPackage } from "./build-task";
import type { Example, TaskData } from "./example";
import { resolveSplitOptions, type SplitOptions } from "./split";

export const SENTIMENT_DOMAINS = Object.freeze(["imdb", "amazon", "yelp"] as const);
export type SentimentDomain = (typeof SENTIMENT_DOMAINS)[number];

/** Label order: index 0 = class 0 in the source files. */
export const SENTIMENT_LABELS = Object.freeze(["negative", "positive"] as const);

export type SentimentOptions = Partial<SplitOptions>;

const PACKAGE = "sentiment";

/** The cleaned sentences of one domain, before splitting (ids "imdb:0000" = index in the file). */
export function readSentimentExamples(domain: SentimentDomain): { examples: Example[]; skipped: number; file: string } {
  if (!SENTIMENT_DOMAINS.includes(domain)) {
    throw new Error(`sentiment domain must be one of [${SENTIMENT_DOMAINS.join(", ")}], got ${JSON.stringify(domain)}`);
  }
  const { dir } = installedPackage(PACKAGE);
  const file = path.join(dir, "test", "fixtures", `${domain}.json`);
  const rows = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(rows)) throw new Error(`${file}: expected a JSON array of {text, class}, got ${typeof rows}`);
  const examples: Example[] = [];
  let skipped = 0;
  rows.forEach((row: unknown, i: number) => {
    const r = row as { text?: unknown; class?: unknown };
    const text = typeof r.text === "string" ? r.text.replace(/\s+/g, " ").trim() : "";
    if (text === "" || (r.class !== 0 && r.class !== 1)) {
      skipped += 1;
      return;
    }
    examples.push({ id: `${domain}:${String(i).padStart(4, "0")}`, text, label: SENTIMENT_LABELS[r.class]! });
  });
  return { examples, skipped, file };
}

/** Load one domain as a task named after it ("imdb" | "amazon" | "yelp"), split by `opts`. */
export function loadSentiment(domain: SentimentDomain, opts: SentimentOptions = {}): TaskData {
  const split = resolveSplitOptions(opts);
  const { version } = installedPackage(PACKAGE);
  const { examples, skipped } = readSentimentExamples(domain);
  return buildTask(domain, SENTIMENT_LABELS, examples, split, {
    package: PACKAGE,
    version,
    licence: "CC BY 4.0 (the sentences); the sentiment package's code is MIT",
    note:
      `UCI Sentiment Labelled Sentences, ${domain} part (Kotzias et al. 2015, "From Group to Individual Labels ` +
      `using Deep Features", KDD; UCI Machine Learning Repository, ` +
      `https://archive.ics.uci.edu/ml/datasets/Sentiment+Labelled+Sentences), read from ` +
      `${PACKAGE}@${version} test/fixtures/${domain}.json. Labels 0/1 -> negative/positive; whitespace collapsed; ` +
      `${skipped} placeholder row(s) without text or label skipped.`,
  });
}
