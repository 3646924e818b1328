/**
 * A model input before embedding: token pieces and named soft-prompt slots, in order. Templates (task layer)
 * produce these; the splicer (this layer) turns a batch of them into input embeddings [B, L, D] + mask.
 */
import type { PromptSlot } from "./positions";

export type Piece =
  { readonly kind: "tokens"; readonly ids: readonly number[] } | { readonly kind: "slot"; readonly slot: PromptSlot };

export interface InputSequence {
  readonly pieces: readonly Piece[];
}

export function tokens(ids: readonly number[]): Piece {
  return { kind: "tokens", ids };
}

export function slot(name: PromptSlot): Piece {
  return { kind: "slot", slot: name };
}
