/**
 * Special tokens shared by every tokenizer we train. Their ids are fixed (0..3) so that model code,
 * data loaders and padding masks can rely on them without reading the tokenizer file.
 */

export const PAD_TOKEN = "<pad>";
export const BOS_TOKEN = "<bos>";
export const EOS_TOKEN = "<eos>";
export const UNK_TOKEN = "<unk>";

/** Special tokens in id order: `SPECIAL_TOKENS[i]` has id `i`. */
export const SPECIAL_TOKENS: readonly string[] = Object.freeze([PAD_TOKEN, BOS_TOKEN, EOS_TOKEN, UNK_TOKEN]);

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;
