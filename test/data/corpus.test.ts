import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  buildCorpus,
  isValidationDocument,
  readCorpusDocuments,
  readCorpusParagraphs,
  resolveCorpusOptions,
  splitHash,
} from "../../lib/data/corpus";
import {
  brownParagraphs,
  cleanParagraph,
  detokenizeBrownLine,
  formatWordnetSynset,
  isMobyDickHeading,
  stripSotuMarkup,
} from "../../lib/data/corpus-clean";
import {
  CorpusDocument,
  CorpusSource,
  brownSource,
  mobyDickSource,
  sotuSource,
  wordnetSource,
} from "../../lib/data/corpus-sources";

/** A tiny in-memory source: document i has paragraphs tagged with its id so splits can be checked. */
function fakeSource(name: string, nDocs: number, version = "1.0.0", extra: CorpusDocument[] = []): CorpusSource {
  return {
    name,
    package: `fake-${name}`,
    version,
    licence: "CC0-1.0",
    licenceUrl: null,
    description: "test fixture",
    *documents() {
      for (let i = 0; i < nDocs; i++) {
        yield {
          id: `${name}/${i}`,
          paragraphs: [`[${name}/${i}] first   paragraph\nwrapped \u201cline\u201d.`, `[${name}/${i}] second.`],
        };
      }
      yield* extra;
    },
  };
}

function firstDocs(source: CorpusSource, n: number): CorpusDocument[] {
  const out: CorpusDocument[] = [];
  for (const d of source.documents()) {
    out.push(d);
    if (out.length === n) break;
  }
  return out;
}

describe("data/corpus", () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "corpus-test-"));
  });
  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe("cleaning", () => {
    it("cleanParagraph normalises quotes and whitespace and drops control characters", () => {
      assert.equal(
        cleanParagraph("  \u201cHe said\u2019s\u201d\n  over\tthere\u0002\u200b.  "),
        '"He said\'s" over there.',
      );
      assert.equal(cleanParagraph(" \n\t "), "");
    });

    it("stripSotuMarkup removes reactions, page/footnote markers and table rules but keeps insertions", () => {
      const raw =
        "Thank you. [Laughter] We will [applause] act. [p.7] See [1] and [Footnote 1: The report.] the [the States] budget ____ ____ * * * end.";
      assert.equal(
        cleanParagraph(stripSotuMarkup(raw)),
        "Thank you. We will act. See and the [the States] budget end.",
      );
    });

    it("isMobyDickHeading recognises section headings only", () => {
      assert.equal(isMobyDickHeading("CHAPTER 12. Biographical."), true);
      assert.equal(isMobyDickHeading("ETYMOLOGY. (Supplied by a Late Consumptive Usher to a Grammar School.)"), true);
      assert.equal(isMobyDickHeading("Call me Ishmael."), false);
    });

    it("formatWordnetSynset renders lemmas and gloss and skips licence lines", () => {
      const line =
        '00039311 04 n 02 blind_alley 0 cul_de_sac 0 002 @ 00039000 n 0000 ;u 07120141 n 0000 | (figurative) a course of action that is unproductive; "all the clues led into blind alleys"  ';
      assert.deepEqual(formatWordnetSynset(line, "data.noun:1"), {
        offset: "00039311",
        text: 'blind alley, cul de sac: (figurative) a course of action that is unproductive; "all the clues led into blind alleys"',
      });
      const adj = "01123148 00 a 02 good(a) 0 Good 0 000 | having desirable qualities  ";
      assert.equal(formatWordnetSynset(adj, "data.adj:9")!.text, "good: having desirable qualities");
      assert.equal(formatWordnetSynset("  1 This software and database is being provided", "data.noun:1"), null);
      assert.throws(
        () => formatWordnetSynset("garbage line | gloss", "data.verb:17"),
        /^Error: data\.verb:17: expected "offset lex_filenum/,
      );
    });
  });

  describe("split rule", () => {
    it("holds out about valFraction of documents, deterministically per (id, seed)", () => {
      const ids = Array.from({ length: 20000 }, (_, i) => `wordnet/noun/${String(i).padStart(8, "0")}`);
      const held = ids.filter((id) => isValidationDocument(id, 0.02, 0)).length / ids.length;
      assert.ok(held > 0.016 && held < 0.024, `held out ${held}`);
      assert.equal(splitHash("sotu/1790_george_washington_n", 0), splitHash("sotu/1790_george_washington_n", 0));
      assert.notEqual(splitHash("sotu/1790_george_washington_n", 0), splitHash("sotu/1790_george_washington_n", 1));
      for (const id of ids.slice(0, 200)) assert.ok(splitHash(id, 3) >= 0 && splitHash(id, 3) < 1);
    });

    it("validates options", () => {
      assert.throws(
        () => resolveCorpusOptions({ outDir: "x", valFraction: 1 }),
        /valFraction: expected a number in \[0, 1\), got 1/,
      );
      assert.throws(() => resolveCorpusOptions({ outDir: "x", seed: 0.5 }), /seed: expected an integer, got 0.5/);
      assert.throws(() => resolveCorpusOptions({ outDir: "" }), /outDir: expected a directory path/);
      assert.deepEqual(resolveCorpusOptions({ outDir: "x" }), {
        outDir: "x",
        valFraction: 0.02,
        seed: 0,
        sources: undefined,
      });
    });
  });

  describe("buildCorpus on a tiny fake source", () => {
    const sources = () => [fakeSource("alpha", 40), fakeSource("beta", 25)];

    it("writes disjoint train/val splits that hold whole documents and match the rule", async () => {
      const dir = path.join(tmp, "a");
      const m = await buildCorpus({ outDir: dir, valFraction: 0.3, seed: 5, sources: sources() });
      const train = readCorpusDocuments(path.join(dir, "train.txt"));
      const val = readCorpusDocuments(path.join(dir, "val.txt"));
      const idOf = (doc: string[]) => /^\[([^\]]+)\]/.exec(doc[0]!)![1]!;
      const trainIds = train.map(idOf);
      const valIds = val.map(idOf);
      assert.equal(new Set([...trainIds, ...valIds]).size, 65, "every document exactly once");
      assert.equal(trainIds.length + valIds.length, 65);
      for (const id of valIds) assert.equal(isValidationDocument(id, 0.3, 5), true, id);
      for (const id of trainIds) assert.equal(isValidationDocument(id, 0.3, 5), false, id);
      assert.ok(valIds.length > 5 && valIds.length < 35, `val documents ${valIds.length}`);
      for (const doc of [...train, ...val]) {
        assert.equal(doc.length, 2, "paragraphs of a document stay together");
        assert.match(doc[0]!, /^\[[a-z]+\/\d+\] first paragraph wrapped "line"\.$/);
        assert.match(doc[1]!, /\] second\.$/);
      }
      assert.equal(m.files.train.documents, trainIds.length);
      assert.equal(m.files.val.documents, valIds.length);
      assert.equal(m.files.train.bytes, fs.statSync(path.join(dir, "train.txt")).size);
      assert.equal(m.sources[0]!.train.documents + m.sources[0]!.val.documents, 40);
      assert.equal(m.total.paragraphs, 130);
      assert.equal(readCorpusParagraphs(path.join(dir, "train.txt")).length, 2 * trainIds.length);
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")), m);
    });

    it("is deterministic: the same options give byte-identical files; another seed gives another split", async () => {
      const [d1, d2, d3] = ["b1", "b2", "b3"].map((d) => path.join(tmp, d));
      await buildCorpus({ outDir: d1!, valFraction: 0.3, seed: 5, sources: sources() });
      await buildCorpus({ outDir: d2!, valFraction: 0.3, seed: 5, sources: sources() });
      await buildCorpus({ outDir: d3!, valFraction: 0.3, seed: 6, sources: sources() });
      for (const f of ["train.txt", "val.txt", "manifest.json"]) {
        assert.ok(fs.readFileSync(path.join(d1!, f)).equals(fs.readFileSync(path.join(d2!, f))), f);
      }
      assert.notEqual(
        fs.readFileSync(path.join(d1!, "val.txt"), "utf8"),
        fs.readFileSync(path.join(d3!, "val.txt"), "utf8"),
      );
    });

    it("reuses a matching build and rebuilds when options or package versions change", async () => {
      const dir = path.join(tmp, "c");
      await buildCorpus({ outDir: dir, valFraction: 0.3, seed: 5, sources: sources() });
      const trainPath = path.join(dir, "train.txt");
      const inode = fs.statSync(trainPath).ino;
      await buildCorpus({ outDir: dir, valFraction: 0.3, seed: 5, sources: sources() });
      assert.equal(fs.statSync(trainPath).ino, inode, "reused, not rewritten");
      await buildCorpus({
        outDir: dir,
        valFraction: 0.3,
        seed: 5,
        sources: [fakeSource("alpha", 40, "2.0.0"), fakeSource("beta", 25)],
      });
      const inode2 = fs.statSync(trainPath).ino;
      assert.notEqual(inode2, inode, "new package version -> rebuilt (atomic rename gives a new inode)");
      const m = await buildCorpus({ outDir: dir, valFraction: 0.5, seed: 5, sources: sources() });
      assert.equal(m.options.valFraction, 0.5);
      assert.notEqual(fs.statSync(trainPath).ino, inode2);
      fs.appendFileSync(trainPath, "tampered\n");
      await buildCorpus({ outDir: dir, valFraction: 0.5, seed: 5, sources: sources() });
      assert.ok(!fs.readFileSync(trainPath, "utf8").includes("tampered"), "size mismatch -> rebuilt");
    });

    it("drops long exact-duplicate paragraphs and empty documents, keeps short repeats", async () => {
      const long = "This paragraph is long enough to be deduplicated across the corpus.";
      const extra: CorpusDocument[] = [
        { id: "gamma/dup1", paragraphs: [long, "Aye, aye!", "unique one"] },
        { id: "gamma/dup2", paragraphs: [long, "Aye, aye!", "unique two"] },
        { id: "gamma/empty", paragraphs: ["  ", "\u200b"] },
      ];
      const dir = path.join(tmp, "d");
      const m = await buildCorpus({
        outDir: dir,
        valFraction: 0,
        seed: 0,
        sources: [fakeSource("gamma", 0, "1", extra)],
      });
      const st = m.sources[0]!;
      assert.equal(st.droppedDuplicateParagraphs, 1);
      assert.equal(st.droppedEmptyDocuments, 1);
      assert.equal(st.documents, 2);
      const paragraphs = readCorpusParagraphs(path.join(dir, "train.txt"));
      assert.equal(paragraphs.filter((p) => p === long).length, 1);
      assert.equal(paragraphs.filter((p) => p === "Aye, aye!").length, 2);
      assert.equal(fs.readFileSync(path.join(dir, "val.txt"), "utf8"), "");
    });

    it("rejects duplicate document ids and duplicate source names", async () => {
      const dupIds = fakeSource("delta", 0, "1", [
        { id: "delta/x", paragraphs: ["a"] },
        { id: "delta/x", paragraphs: ["b"] },
      ]);
      await assert.rejects(
        buildCorpus({ outDir: path.join(tmp, "e"), sources: [dupIds] }),
        /source delta: duplicate document id "delta\/x"/,
      );
      await assert.rejects(
        buildCorpus({ outDir: path.join(tmp, "f"), sources: [fakeSource("z", 1), fakeSource("z", 1)] }),
        /duplicate source name "z"/,
      );
    });
  });

  describe("real sources (first documents only)", () => {
    it("State of the Union: one document per address, from 1790", () => {
      const s = sotuSource();
      assert.match(s.version, /^\d+\.\d+\.\d+$/);
      const [first] = firstDocs(s, 1);
      assert.equal(first!.id, "sotu/1790_george_washington_n");
      assert.equal(first!.paragraphs.length, 1);
      assert.match(
        cleanParagraph(first!.paragraphs[0]!),
        /^Fellow-Citizens of the Senate and House of Representatives:/,
      );
    });

    it("Moby-Dick: sections in book order with headings dropped", () => {
      const docs = firstDocs(mobyDickSource(), 3);
      assert.deepEqual(
        docs.map((d) => d.id),
        ["moby-dick/etymology", "moby-dick/extracts", "moby-dick/chapter_1"],
      );
      assert.match(docs[2]!.paragraphs[0]!, /^Call me Ishmael\./);
      assert.match(docs[0]!.paragraphs[0]!, /^The pale Usher/);
    });

    it("WordNet: one document per synset with the licence text recorded", () => {
      const s = wordnetSource();
      assert.match(s.licenceText!, /WordNet 3\.1 Copyright 2011 by Princeton University/);
      const [first] = firstDocs(s, 1);
      assert.equal(first!.id, "wordnet/noun/00001740");
      assert.match(
        first!.paragraphs[0]!,
        /^entity: that which is perceived or known or inferred to have its own distinct existence/,
      );
    });
    it("Brown: 500 samples in cats.txt order, tags removed and punctuation rejoined", () => {
      const docs = firstDocs(brownSource(), 2);
      assert.deepEqual(
        docs.map((d) => d.id),
        ["brown/ca01", "brown/ca02"],
      );
      assert.match(
        docs[0]!.paragraphs[0]!,
        /^The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place\.$/,
      );
      let n = 0;
      for (const _ of brownSource().documents()) n++;
      assert.equal(n, 500);
    });
  });

  describe("Brown detokenizer", () => {
    it("drops tags at the last slash and attaches punctuation, brackets and quotes", () => {
      assert.equal(
        detokenizeBrownLine("He/pps said/vbd ,/, ``/`` no/at (/( 1/2/cd )/) ''/'' ;/. fine/jj ?/.", "f:1"),
        'He said, "no (1/2)"; fine?',
      );
      assert.equal(detokenizeBrownLine("Dr./nn-tl Smith/np --/-- yes/rb ./.", "f:2"), "Dr. Smith -- yes.");
      assert.throws(
        () => detokenizeBrownLine("word/nn broken", "ca01:7"),
        /ca01:7: expected Brown tokens "word\/tag", got "broken"/,
      );
    });

    it("starts a paragraph at each tab-indented line and joins its sentences", () => {
      const text = "\n\n\tA/at b/nn ./.\nC/np d/vb ./.\n\n\n\tE/np ./.\n";
      assert.deepEqual(brownParagraphs(text, "f"), ["A b. C d.", "E."]);
    });
  });
});
