/**
 * npm run generate -- --model DIR|hub:ORG/NAME (--prompt TEXT | --ids 1,2,3) --max-new-tokens N [--greedy] [--seed S] [--json]
 *
 * Continues a prompt with a checkpoint folder (the kit's own or a Hugging Face one) or a hub model (hub:ORG/NAME,
 * taken from the Hugging Face cache, downloaded into it when missing) to check it loaded correctly.
 * With --json: one line {"ids": [...], "logprobs": [...], "text": "..."}: the generated ids, each one's natural-log
 * probability under the model's full-vocabulary softmax, and their decoded text.
 */
import { initBackend } from "../lib/backend/backend";
import { loadCheckpoint } from "../lib/backbone/checkpoint";
import { fromPretrained } from "../lib/backbone/from-pretrained";
import { isHubSpec } from "../lib/backbone/hub-cache";
import { generate } from "../lib/backbone/generate";
import { parseArgs } from "./args";

const USAGE =
  "usage: npm run generate -- --model DIR|hub:ORG/NAME[@REV] (--prompt TEXT | --ids 1,2,3) --max-new-tokens N [--greedy] [--seed S] [--json] [--no-stop]\n" +
  "  --greedy   argmax tokens (default: sample with --seed, default 0)\n" +
  "  --no-stop  do not stop at the tokenizer's end-of-sequence token";

async function main(): Promise<void> {
  const args = parseArgs(
    process.argv.slice(2),
    {
      model: { type: "string", required: true },
      prompt: { type: "string" },
      ids: { type: "string" },
      "max-new-tokens": { type: "int", required: true },
      greedy: { type: "bool", default: false },
      seed: { type: "int", default: 0 },
      json: { type: "bool", default: false },
      "no-stop": { type: "bool", default: false },
    },
    USAGE,
  );
  const hasPrompt = args.prompt !== undefined;
  const hasIds = args.ids !== undefined;
  if (hasPrompt === hasIds) throw new Error(`give exactly one of --prompt TEXT or --ids 1,2,3\n${USAGE}`);
  const maxNew = args["max-new-tokens"] as number;
  if (maxNew < 1) throw new Error(`--max-new-tokens must be a positive integer, got ${maxNew}`);
  await initBackend();
  const model = args.model as string;
  const b = isHubSpec(model) ? await fromPretrained(model) : loadCheckpoint(model);
  let prompt: number[];
  if (hasIds) {
    const parts = (args.ids as string).split(",").map((s) => s.trim());
    prompt = parts.map((p, i) => {
      const n = Number(p);
      if (p === "" || !Number.isInteger(n) || n < 0 || n >= b.config.vocabSize) {
        throw new Error(
          `--ids: entry ${i + 1} is ${JSON.stringify(p)}, expected an integer in [0, ${b.config.vocabSize}) (the model's vocabulary)`,
        );
      }
      return n;
    });
  } else {
    prompt = b.tokenizer.encode(args.prompt as string);
    if (prompt.length === 0) throw new Error("--prompt: the text encodes to no tokens");
  }
  if (prompt.length + maxNew > b.config.maxLen) {
    throw new Error(
      `--max-new-tokens ${maxNew} with a ${prompt.length}-token prompt exceeds the model's maximum length ${b.config.maxLen}`,
    );
  }
  const out = generate(b.model, prompt, {
    maxNewTokens: maxNew,
    greedy: args.greedy as boolean,
    seed: args.seed as number,
    choosableIds: b.tokenizer.vocabSize,
    eosId: args["no-stop"] ? null : b.tokenizer.eosId,
  });
  const text = b.tokenizer.decode(out.ids);
  if (args.json) console.log(JSON.stringify({ ids: out.ids, logprobs: out.logprobs, text }));
  else {
    console.error(
      `${b.name} (${b.config.family ?? "gpt2"}, ${b.fingerprint.slice(0, 19)}...): prompt of ${prompt.length} tokens`,
    );
    console.log(b.tokenizer.decode(prompt) + text);
  }
  b.model.dispose();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
