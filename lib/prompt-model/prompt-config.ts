/**
 * The configuration of a prompt model (length, initializer, position, seeds, optionally its task), with defaults
 * and checks that name the option the user wrote.
 */
import { PREFIX_POSITIONS, type PrefixPositions } from "../backbone/kv-prefix";
import { boolean, finiteNumber, integer, isPlainObject, knownKeys, oneOf, positiveInt, string } from "../io/validate";
import { PROMPT_INITS, type PromptInitKind } from "../prompt/initializers";
import { parsePosition } from "../prompt/positions";
import type { TaskInput } from "./task-input";

export interface PromptConfig {
  /** total soft-prompt length P over all slots (default 20). */
  readonly length?: number;
  /** "random-uniform", "sampled-vocab" (default), "class-label" or "text". */
  readonly init?: PromptInitKind;
  /** "front" (default), "middle", "back" or a '+' combination, e.g. "front+back". */
  readonly position?: string;
  /** half-width of the random-uniform initializer (default 0.5). */
  readonly initRange?: number;
  /** text whose token embeddings start the prompt (init "text"). */
  readonly initText?: string;
  /** the task to bind now (needed by the "class-label" and "sampled-vocab" initializers); else the first fit/evaluate's. */
  readonly task?: TaskInput;
  /** seed of the prompt initialisation and of the batch order (default 0). */
  readonly seed?: number;
  /** seed of a shipped task's train/dev/test split (default 0, as in every grid cell). */
  readonly dataSeed?: number;
  /** prefix tuning only: train the prefixes through the reparameterisation MLP (default false). */
  readonly projection?: boolean;
  /** prefix tuning with projection: the MLP's hidden width (default: the model width). */
  readonly hidden?: number;
  /**
   * prefix tuning only: how the real tokens are numbered next to the prefix, "from-0" (default) or "after-prefix"
   * (P, P+1, ...: Hugging Face's numbering; needed to export the prefix as a PEFT PREFIX_TUNING adapter).
   */
  readonly positions?: PrefixPositions;
}

export type ResolvedPromptConfig = Required<Omit<PromptConfig, "task" | "initText" | "hidden">> & {
  readonly initText?: string;
  readonly hidden: number | null;
};

const CONFIG_KEYS = ["length", "init", "position", "initRange", "initText", "task", "seed", "dataSeed"];
/** prefix tuning: the prefix length, its form, its start and the seeds (no input position applies). */
const PREFIX_KEYS = ["length", "projection", "hidden", "positions", "init", "initRange", "task", "seed", "dataSeed"];
/** how direct prefixes start: real tokens' keys and values, or uniform noise (lib/tuning/methods/prefix-tuning.ts). */
const PREFIX_INITS = ["sampled-vocab", "random-uniform"] as const;

/** Merges `config` over the defaults (never mutating it) and checks every value; `where` prefixes messages. */
export function resolvePromptConfig(config: unknown, where: string): ResolvedPromptConfig {
  if (!isPlainObject(config))
    throw new Error(
      `${where}: config must be an object like { length: 20, init: "class-label" }, got ${JSON.stringify(config)}`,
    );
  const prefix = where === "prefix-tuning";
  knownKeys(config, prefix ? PREFIX_KEYS : CONFIG_KEYS, where);
  const c = config as PromptConfig;
  const at = (k: string) => `${where}: ${k}`;
  const projection = boolean(c.projection ?? false, at("projection"));
  const hidden = c.hidden === undefined ? null : positiveInt(c.hidden, at("hidden"));
  if (hidden !== null && !projection)
    throw new Error(`${where}: hidden ${hidden} is the projection MLP's width; it needs projection: true`);
  const length = positiveInt(c.length ?? 20, at("length"));
  const position = string(c.position ?? "front", at("position"), { nonEmpty: true });
  try {
    parsePosition(position, length);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  const init = oneOf(c.init ?? "sampled-vocab", at("init"), prefix ? PREFIX_INITS : PROMPT_INITS);
  if (init === "text" && (c.initText === undefined || c.initText.trim() === ""))
    throw new Error(`${where}: init "text" needs initText, e.g. initText: "Is this review positive?"`);
  return {
    length,
    position,
    init,
    initRange: finiteNumber(c.initRange ?? 0.5, at("initRange"), { above: 0 }),
    ...(c.initText !== undefined ? { initText: string(c.initText, at("initText")) } : {}),
    seed: integer(c.seed ?? 0, at("seed"), { min: 0 }),
    dataSeed: integer(c.dataSeed ?? 0, at("dataSeed"), { min: 0 }),
    projection,
    hidden,
    positions: oneOf(c.positions ?? "from-0", at("positions"), PREFIX_POSITIONS),
  };
}
