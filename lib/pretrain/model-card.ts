/** The model card (README.md) written into every shipped backbone folder. */
import { nonEmbeddingParams, totalParams, TransformerConfig } from "../backbone/config";
import type { PretrainState } from "./pretrainer";
import { moeSettings } from "../backbone/moe/moe-config";

/** The mixture-of-experts row of the card ("" for a dense model). */
function moeRow(cfg: TransformerConfig): string {
  const s = moeSettings(cfg);
  if (!s) return "";
  const routing = s.expertsPerToken === 1 ? "top-1 (Switch)" : "top-2 (GShard)";
  return (
    `| experts | ${s.numExperts} per MoE block in blocks ${s.moeLayers.join(", ")}, ${routing}, capacity factor ` +
    `${s.capacityFactor}, load-balancing loss coefficient ${s.routerAuxLossCoef} |\n`
  );
}

export interface CardInput {
  readonly name: string;
  readonly config: TransformerConfig;
  readonly state: PretrainState;
  readonly finalValLoss: number;
  readonly command: string;
  readonly corpus: { readonly description: string; readonly trainTokens: number; readonly valTokens: number };
  readonly fingerprint: string;
  readonly notes?: readonly string[];
}

export function modelCard(c: CardInput): string {
  const cfg = c.config;
  const o = c.state.options;
  const epochs = c.state.tokensSeen / c.corpus.trainTokens;
  const rows = c.state.history
    .map(
      (h) =>
        `| ${h.step} | ${h.tokens} | ${h.trainLoss.toFixed(4)} | ${h.valLoss.toFixed(4)} | ${Math.exp(h.valLoss).toFixed(2)} | ${h.seconds.toFixed(0)} |`,
    )
    .join("\n");
  return `# ${c.name}

A small decoder-only (GPT-2 layout, pre-LayerNorm) language model pre-trained by softprompt-kit, for soft-prompt
tuning and fine-tuning experiments. Trained from scratch on public-domain / permissively licensed English text.

| | |
|---|---|
| validation perplexity | **${Math.exp(c.finalValLoss).toFixed(2)}** (loss ${c.finalValLoss.toFixed(4)} nats/token, ${c.corpus.valTokens} held-out tokens, ${o.evalTokens} used per evaluation) |
| non-embedding parameters | ${nonEmbeddingParams(cfg).toLocaleString("en-US")} |
| all parameters | ${totalParams(cfg).toLocaleString("en-US")} (output layer tied to the token embedding) |
| shape | ${cfg.nLayers} layers, width ${cfg.dModel}, ${cfg.nHeads} heads, feed-forward ${cfg.dFF}, ${cfg.activation}, vocabulary ${cfg.vocabSize}, max length ${cfg.maxLen} |
${moeRow(cfg)}| tokens seen | ${c.state.tokensSeen.toLocaleString("en-US")} (${epochs.toFixed(2)} epochs of ${c.corpus.trainTokens.toLocaleString("en-US")} training tokens) |
| steps | ${c.state.step} of batch ${o.batch} x ${o.length} tokens |
| optimizer | AdamW, lr ${o.lr} warmup ${o.warmupSteps} then cosine to ${o.minLrRatio}x, weight decay ${o.weightDecay}, clip ${o.clipNorm} |
| wall time | ${(c.state.wallSeconds / 60).toFixed(1)} min of training (evaluation excluded) |
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
