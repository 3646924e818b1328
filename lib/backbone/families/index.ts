/** The architecture families by config.family. */
import { arch, type TransformerConfig } from "../config";
import type { FamilyDef } from "../family";
import { gptNeoxFamily } from "./gpt-neox";
import { gpt2Family } from "./gpt2";
import { llamaFamily } from "./llama";
import { gpt2MoeFamily } from "../moe/gpt2-moe";

export function familyOf(c: TransformerConfig): FamilyDef {
  switch (arch(c).family) {
    case "gpt2":
      return c.numExperts === undefined ? gpt2Family : gpt2MoeFamily;
    case "llama":
      return llamaFamily;
    case "gpt_neox":
      return gptNeoxFamily;
  }
}
