/** The model card (README.md) written into every shipped backbone folder. */
import { nonEmbeddingParams, totalParams, TransformerConfig } from "../backbone/config";
import type { PretrainState } from "./pretrainer";
import type { HeldOutScore } from "./held-out";

export interface CardInput {
  readonly name: string;
  readonly config: TransformerConfig;
  readonly state: PretrainState;
  readonly finalValLoss: number;
  readonly command: string;
  readonly corpus: { readonly description: string; readonly trainTokens: number; readonly valTokens: number };
  readonly fingerprint: string;
  readonly notes?: readonly string[];
  /**
   * Scores comparable across corpora and tokenizers: bits per byte of this corpus's validation split, and the
   * reference held-out text (lib/pretrain/held-out.ts) the earlier cards were scored on.
   */
  readonly heldOut?: { readonly valBitsPerByte: number; readonly reference: HeldOutScore };
}

export function modelCard(c: CardInput): string {
  const cfg = c.config;
  const o = c.state.options;
  const epochs = c.state.tokensSeen / c.corpus.trainTokens;
  const init = o.init;
  const n = (x: number) => x.toLocaleString("en-US");
  const thisRun = `${n(c.state.tokensSeen)} (${epochs.toFixed(2)} epochs of ${n(c.corpus.trainTokens)} training tokens)`;
  const tokensRow = init
    ? `${n(init.tokensSeen + c.state.tokensSeen)} in all: ${n(init.tokensSeen)} by ${init.name} (\`${init.fingerprint.slice(0, 19)}…\`), then ${thisRun} in this run`
    : thisRun;
  const minutes = (s: number) => (s / 60).toFixed(1);
  const wallRow = init
    ? `${minutes(init.wallSeconds + c.state.wallSeconds)} min of training in all (${minutes(init.wallSeconds)} before, ${minutes(c.state.wallSeconds)} in this run; evaluation excluded)`
    : `${minutes(c.state.wallSeconds)} min of training (evaluation excluded)`;
  const ref = c.heldOut?.reference;
  const heldOutRows = c.heldOut
    ? `| bits per byte | ${c.heldOut.valBitsPerByte.toFixed(4)} on this corpus's validation split |
| reference held-out text | ppl **${ref!.perplexity.toFixed(2)}**, loss ${ref!.loss.toFixed(4)}, ${ref!.bitsPerByte.toFixed(4)} bits per byte (${n(ref!.tokens)} tokens, ${n(ref!.bytes)} bytes: the validation documents of the SOTU + Moby-Dick + WordNet corpus the first shipped backbones were scored on) |
`
    : "";
  const rows = c.state.history
    .map(
      (h) =>
        `| ${h.step} | ${h.tokens} | ${h.trainLoss.toFixed(4)} | ${h.valLoss.toFixed(4)} | ${Math.exp(h.valLoss).toFixed(2)} | ${h.seconds.toFixed(0)} |`,
    )
    .join("\n");
  return `# ${c.name}

A small decoder-only (GPT-2 layout, pre-LayerNorm) language model pre-trained by softprompt-kit, for soft-prompt
tuning and fine-tuning experiments. ${init ? `Pre-training continued from ${init.name}` : "Trained from scratch"} on public-domain / permissively licensed English text.

| | |
|---|---|
| validation perplexity | **${Math.exp(c.finalValLoss).toFixed(2)}** (loss ${c.finalValLoss.toFixed(4)} nats/token, ${c.corpus.valTokens} held-out tokens, ${o.evalTokens} used per evaluation) |
${heldOutRows}| non-embedding parameters | ${nonEmbeddingParams(cfg).toLocaleString("en-US")} |
| all parameters | ${totalParams(cfg).toLocaleString("en-US")} (output layer tied to the token embedding) |
| shape | ${cfg.nLayers} layers, width ${cfg.dModel}, ${cfg.nHeads} heads, feed-forward ${cfg.dFF}, ${cfg.activation}, vocabulary ${cfg.vocabSize}, max length ${cfg.maxLen} |
| tokens seen | ${tokensRow} |
| steps | ${c.state.step}${init ? " in this run" : ""} of batch ${o.batch} x ${o.length} tokens |
| optimizer | AdamW, lr ${o.lr} warmup ${o.warmupSteps} then cosine to ${o.minLrRatio}x, weight decay ${o.weightDecay}, clip ${o.clipNorm} |
| wall time | ${wallRow} |
| backend | ${c.state.backends.join(", ")} |
| weights fingerprint | \`${c.fingerprint}\` |

Corpus: ${c.corpus.description} (see datasets/README.md for sources, licences and cleaning).

Command:

\`\`\`
${c.command}
\`\`\`
${c.notes && c.notes.length > 0 ? "\nNotes:\n\n" + c.notes.map((n) => `- ${n}`).join("\n") + "\n" : ""}
## Validation curve

| step | tokens | train loss (EMA) | val loss | val ppl | train seconds |
|---|---|---|---|---|---|
${rows}
`;
}
