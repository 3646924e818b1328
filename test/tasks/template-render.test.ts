import assert from "node:assert/strict";
import type { Piece } from "../../lib/prompt/sequence";
import { parsePattern, Template } from "../../lib/tasks/template";
import type { Tokenizer } from "../../lib/tokenizer/tokenizer";
import { setupBackend } from "../helpers";
import { loadTiny } from "../tuning/fixture";

describe("template rendering", () => {
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
    assert.deepEqual(ids(seq.pieces), [
      [tok.eosId],
      "<front>",
      tok.encode("the film was good"),
      tok.encode(" all in all it was"),
      "<back>",
    ]);
    assert.deepEqual(t.slots(), ["front", "back"]);
    assert.equal(t.isPair, false);
    const pair = new Template({ pattern: "<front>{text}<middle> and {textB} are<back>", maxFieldTokens: 50 }, tok);
    const p = pair.render({ id: "y", text: "big", textB: "large", label: "same" });
    // " and {textB}": the literal loses its trailing space, the field gains a leading one.
    assert.deepEqual(ids(p.pieces), [
      [tok.eosId],
      "<front>",
      tok.encode("big"),
      "<middle>",
      tok.encode(" and"),
      tok.encode(" large"),
      tok.encode(" are"),
      "<back>",
    ]);
    assert.equal(pair.isPair, true);
  });

  it("refuses repeated slots, a bad maxFieldTokens and a missing field", () => {
    assert.throws(() => parsePattern("<front>{text} it was<front>"), /has <front> more than once/);
    assert.throws(
      () => new Template({ pattern: "{text} it was", maxFieldTokens: 0 }, tok),
      /maxFieldTokens must be a positive integer, got 0/,
    );
    const pair = new Template({ pattern: "{text} and {textB} are", maxFieldTokens: 4 }, tok);
    assert.throws(
      () => pair.render({ id: "ex-7", text: "a", label: "l" }),
      /example ex-7: template needs field 'textB', which is missing/,
    );
  });
});
