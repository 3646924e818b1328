import assert from "node:assert/strict";
import * as kit from "../lib";

// Type-level checks of the public API: these lines fail to compile if the short API's shapes change.
type Expect<T extends true> = T;
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
export type PublicApiTypes = [
  Expect<Equal<ReturnType<typeof kit.promptTuning>, kit.PromptModel>>,
  Expect<Equal<ReturnType<kit.PromptModel["trainableParameters"]>, kit.TrainableParameters>>,
  Expect<Equal<Awaited<ReturnType<kit.PromptModel["fit"]>>, kit.FitResult>>,
  Expect<Equal<Parameters<typeof kit.promptTuning>[1], kit.PromptConfig | undefined>>,
  Expect<Equal<Awaited<ReturnType<typeof kit.fromPretrained>>, kit.LoadedBackbone>>,
];

describe("public API (lib/index.ts)", () => {
  it("every export is defined, and the short API and what it needs are there", () => {
    for (const [name, value] of Object.entries(kit)) assert.notEqual(value, undefined, `export ${name} is undefined`);
    for (const name of [
      "promptTuning",
      "deepPromptTuning",
      "loadPromptModel",
      "frequentTokenIds",
      "PromptLibrary",
      "loadCheckpoint",
      "fromPretrained",
      "backboneDir",
      "pretrain",
      "kiLoss",
      "readKiResult",
    ]) {
      assert.equal(typeof (kit as Record<string, unknown>)[name], "function", name);
    }
  });
});
