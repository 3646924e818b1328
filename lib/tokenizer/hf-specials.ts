/**
 * Special tokens of a Hugging Face tokenizer folder. Looked up, first found wins, in tokenizer_config.json,
 * special_tokens_map.json (bos_token / eos_token / pad_token / unk_token, a string or {"content": ...}),
 * generation_config.json and config.json (bos_token_id / eos_token_id / pad_token_id, a number or a list whose first
 * entry is used), then tokenizer.json's model.unk_token. A model without a pad token pads with its EOS token (the
 * usual practice; padded positions are masked out anyway), and a missing BOS or EOS falls back to the other.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export interface SpecialIds {
  readonly pad: number;
  readonly bos: number;
  readonly eos: number;
  readonly unk: number;
}

type Kind = "bos" | "eos" | "pad" | "unk";

function readJson(file: string): Record<string, unknown> | null {
  if (!fs.existsSync(file)) return null;
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${file}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** Resolves the special ids of the tokenizer in `dir`; `idOf` maps a token string to its id. */
export function resolveSpecialIds(
  dir: string,
  idOf: (token: string) => number | undefined,
  unkToken: unknown,
): SpecialIds {
  const found: Partial<Record<Kind, number>> = {};
  const byToken = (file: string) => {
    const o = readJson(path.join(dir, file));
    if (!o) return;
    for (const k of ["bos", "eos", "pad", "unk"] as const) {
      if (found[k] !== undefined) continue;
      const raw = o[`${k}_token`];
      const token =
        typeof raw === "string"
          ? raw
          : typeof raw === "object" && raw !== null
            ? (raw as Record<string, unknown>)["content"]
            : undefined;
      if (token === undefined || token === null) continue;
      if (typeof token !== "string")
        throw new Error(
          `${path.join(dir, file)}: field '${k}_token' must be a string or {"content": string}, got ${JSON.stringify(raw)}`,
        );
      const id = idOf(token);
      if (id === undefined)
        throw new Error(`${path.join(dir, file)}: ${k}_token ${JSON.stringify(token)} is not in tokenizer.json`);
      found[k] = id;
    }
  };
  const byId = (file: string) => {
    const o = readJson(path.join(dir, file));
    if (!o) return;
    for (const k of ["bos", "eos", "pad"] as const) {
      if (found[k] !== undefined) continue;
      const raw = o[`${k}_token_id`];
      const id = Array.isArray(raw) ? raw[0] : raw;
      if (id === undefined || id === null) continue;
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        throw new Error(
          `${path.join(dir, file)}: field '${k}_token_id' must be a non-negative integer (or a list of them), got ${JSON.stringify(raw)}`,
        );
      }
      found[k] = id;
    }
  };
  byToken("tokenizer_config.json");
  byToken("special_tokens_map.json");
  byId("generation_config.json");
  byId("config.json");
  if (found.unk === undefined && typeof unkToken === "string") found.unk = idOf(unkToken);
  const eos = found.eos ?? found.bos ?? 0;
  const bos = found.bos ?? eos;
  return { pad: found.pad ?? eos, bos, eos, unk: found.unk ?? eos };
}
