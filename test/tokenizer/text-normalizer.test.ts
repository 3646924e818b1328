import assert from "node:assert/strict";
import { normalizeText } from "../../lib/tokenizer/text-normalizer";

describe("tokenizer/text-normalizer", () => {
  it("applies NFKC and maps curly quotes and unicode hyphens to ASCII", () => {
    assert.equal(normalizeText("\u2018a\u2019 \u201cb\u201d \u201ec\u201f"), '\'a\' "b" "c"');
    assert.equal(
      normalizeText("\ufb01 \uff21 \u00bd x\u00a0y non\u2011breaking \u2010"),
      "fi A 1\u20442 x y non-breaking -",
    );
  });

  it("keeps whitespace, dashes and ordinary accents", () => {
    const text = "  caf\u00e9 \u2014 \u2013 \t\n ";
    assert.equal(normalizeText(text), text);
  });

  it("is idempotent", () => {
    const text = "\u201cOh\u201d \ufb03 \u2019tis \u2460";
    assert.equal(normalizeText(normalizeText(text)), normalizeText(text));
  });
});
