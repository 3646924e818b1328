import assert from "node:assert/strict";
import type { Piece } from "../../lib/prompt/sequence";
import { parsePattern, Template } from "../../lib/tasks/template";
import { Verbalizer } from "../../lib/tasks/verbalizer";
import type { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { setupBackend } from "../helpers";
import { loadTiny } from "../tuning/fixture";

describe("templates and verbalizers", () => {
  let tok: Tokenizer;
  before(async () => {
    await setupBackend();
    const b = loadTiny();
    tok = b.tokenizer;
    b.model.dispose();
  });

  const ids = (pieces: readonly Piece[]) => pieces.map((p) => (p.kind === "tokens" ? p.ids : `<${p.slot}>`));

  it("renders <eos>, literals, fields and slots in pattern order, a field's leading space joined to it", () => {
    const t = new Template({ pattern: "<front>{text} all in all it was<back>", maxFieldTokens: 50 }, tok);
    const seq = t.render({ id: "x", text: "  the film was good ", label: "positive" });
    assert.deepEqual(ids(seq.pieces), [[tok.eosId], "<front>", tok.encode("the film was good"), tok.encode(" all in all it was"), "<back>"]);
    assert.deepEqual(t.slots(), ["front", "back"]);
    assert.equal(t.isPair, false);
    const pair = new Template({ pattern: "<front>{text}<middle> and {textB} are<back>", maxFieldTokens: 50 }, tok);
    const p = pair.render({ id: "y", text: "big", textB: "large", label: "same" });
    // " and {textB}": the literal loses its trailing space, the field gains a leading one.
    assert.deepEqual(ids(p.pieces), [[tok.eosId], "<front>", tok.encode("big"), "<middle>", tok.encode(" and"), tok.encode(" large"), tok.encode(" are"), "<back>"]);
    assert.equal(pair.isPair, true);
  });

  it("truncates each field to maxFieldTokens from the end", () => {
    const t = new Template({ pattern: "{text} it was", maxFieldTokens: 3 }, tok);
    const full = tok.encode("the service was bad and it was not worth it");
    assert.ok(full.length > 3);
    assert.deepEqual(t.render({ id: "z", text: "the service was bad and it was not worth it", label: "negative" }).pieces[1], { kind: "tokens", ids: full.slice(0, 3) });
  });

  it("refuses patterns without {text}, repeated slots, a bad maxFieldTokens and a missing field", () => {
    assert.throws(() => parsePattern("<front> it was<back>"), /has no \{text\} field/);
    assert.throws(() => parsePattern("<front>{text}<front>"), /has <front> more than once/);
    assert.throws(() => new Template({ pattern: "{text}", maxFieldTokens: 0 }, tok), /maxFieldTokens must be a positive integer, got 0/);
    const pair = new Template({ pattern: "{text} and {textB}", maxFieldTokens: 4 }, tok);
    assert.throws(() => pair.render({ id: "ex-7", text: "a", label: "l" }), /example ex-7: template needs field 'textB', which is missing/);
  });

  it("verbalizer: label words as token ids per label, first words for class-label initialisation", () => {
    const v = new Verbalizer(["negative", "positive"], { negative: [" not", " no"], positive: [" good"] }, tok);
    assert.deepEqual(v.tokenIds, [[tok.encode(" not"), tok.encode(" no")], [tok.encode(" good")]]);
    assert.deepEqual(v.firstWordIds(), [tok.encode(" not"), tok.encode(" good")]);
    assert.throws(() => new Verbalizer(["a", "b"], { a: [" x"], b: [" y"], c: [" z"] }, tok), /verbalizer names unknown label\(s\) c; task labels are a, b/);
    assert.throws(() => new Verbalizer(["a", "b"], { a: [" x"] }, tok), /verbalizer has no words for label 'b'/);
    assert.throws(() => new Verbalizer(["a", "b"], { a: [" x"], b: [""] }, tok), /label word "" of 'b' encodes to no tokens/);
  });
});
