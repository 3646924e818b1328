/**
 * npm run prompts -- list|show|export|import [options]
 *
 * The prompt library from the command line (default library: reports/prompts):
 *   list    entries matching --task, --backbone, --fingerprint (prefix), --method, --metric [--min X] [--max X],
 *           --since DATE, --until DATE (best first by --metric); --json prints one JSON entry per line
 *   show    --id ID: an entry's metadata
 *   export  --id ID --out DIR: the entry as a Hugging Face PEFT prompt-tuning adapter folder
 *           (front prompts only; --overwrite replaces an existing adapter);
 *           --prefix FILE --out DIR: a kit prefix file (prefix tuning) as a PEFT PREFIX_TUNING adapter folder
 *           (only a prefix trained with positions "after-prefix")
 *   import  --adapter DIR --backbone NAME [--task NAME] [--name ID] [--overwrite]: a PEFT adapter as a new entry;
 *           a PREFIX_TUNING adapter needs --out FILE and becomes a kit prefix file instead
 */
import * as path from "node:path";
import { initBackend } from "../lib/backend/backend";
import { loadCheckpoint } from "../lib/backbone/checkpoint";
import { backboneInfo, promptLibraryDir } from "../lib/notebook";
import { PromptLibrary, type LibraryEntry } from "../lib/prompt/library";
import {
  exportLibraryEntry,
  exportPeftPrefix,
  importAdapterToLibrary,
  importPeftPrefix,
  peftPrefixBackbone,
  peftTypeOf,
  readAdapterConfigObject,
  type PeftPrefixBackbone,
} from "../lib/prompt/peft";
import { readPromptMeta } from "../lib/prompt/prompt-file";
import { loadTask, TASK_NAMES, type TaskName } from "../lib/tasks/data/registry";
import { parseArgs, type ArgSpec } from "./args";

const COMMANDS = ["list", "show", "export", "import"] as const;
type Command = (typeof COMMANDS)[number];

const USAGE =
  "usage: npm run prompts -- <command> [options]   (every command takes --library DIR, default reports/prompts)\n" +
  "  list   [--task T] [--backbone NAME] [--fingerprint PREFIX] [--method M] [--metric NAME [--min X] [--max X]]\n" +
  "         [--since DATE] [--until DATE] [--json]\n" +
  "  show   --id ID\n" +
  "  export --id ID --out DIR [--overwrite]          (a PEFT prompt-tuning adapter folder)\n" +
  "  export --prefix FILE --out DIR [--overwrite]    (a kit prefix file as a PEFT prefix-tuning adapter folder)\n" +
  "  import --adapter DIR --backbone NAME [--task T] [--name ID] [--overwrite]\n" +
  "         [--out FILE]                            (a prefix-tuning adapter: the kit prefix file to write)";

const LIB: Record<string, ArgSpec> = { library: { type: "string" } };
const SPECS: Record<Command, Record<string, ArgSpec>> = {
  list: {
    ...LIB,
    task: { type: "string" },
    backbone: { type: "string" },
    fingerprint: { type: "string" },
    method: { type: "string" },
    metric: { type: "string" },
    min: { type: "float" },
    max: { type: "float" },
    since: { type: "string" },
    until: { type: "string" },
    json: { type: "bool", default: false },
  },
  show: { ...LIB, id: { type: "string", required: true } },
  export: {
    ...LIB,
    id: { type: "string" },
    prefix: { type: "string" },
    out: { type: "string", required: true },
    overwrite: { type: "bool", default: false },
  },
  import: {
    ...LIB,
    adapter: { type: "string", required: true },
    backbone: { type: "string", required: true },
    task: { type: "string" },
    name: { type: "string" },
    out: { type: "string" },
    overwrite: { type: "bool", default: false },
  },
};

/** The backbone a PEFT file is checked against, from models/<name> (weights are read only without a recorded fingerprint). */
function peftBackbone(name: string): PeftPrefixBackbone {
  const info = backboneInfo(name);
  const fingerprint = info.recordedFingerprint ?? loadCheckpoint(info.dir).fingerprint;
  return peftPrefixBackbone(name, fingerprint, info.config);
}

function line(e: LibraryEntry): string {
  const metrics = Object.entries(e.metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(" ");
  return `${e.id}  ${e.task}  ${e.backbone.name} ${e.backbone.fingerprint.slice(0, 15)}  ${String(e.extra?.["method"] ?? "prompt-tuning")}  ${e.settings.position} P=${e.settings.length}  ${metrics}  ${e.savedAt}`;
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || command === "--help") throw new Error(USAGE);
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new Error(`unknown command '${command}': expected one of ${COMMANDS.join(", ")}\n${USAGE}`);
  const cmd = command as Command;
  const args = parseArgs(rest, SPECS[cmd], USAGE);
  const library = new PromptLibrary(
    args.library === undefined ? promptLibraryDir(false) : path.resolve(args.library as string),
  );
  const str = (k: string) => args[k] as string | undefined;
  if (cmd === "list") {
    if ((args.min !== undefined || args.max !== undefined) && args.metric === undefined)
      throw new Error(`--min / --max need --metric NAME (e.g. --metric accuracy --min 0.8)`);
    const entries = library.search({
      task: str("task"),
      backbone: str("backbone"),
      fingerprint: str("fingerprint"),
      method: str("method"),
      metric: str("metric"),
      min: args.min as number | undefined,
      max: args.max as number | undefined,
      since: str("since"),
      until: str("until"),
    });
    for (const e of entries) console.log(args.json ? JSON.stringify(e) : line(e));
    if (!args.json) console.error(`${entries.length} prompt(s) in ${library.dir}`);
  } else if (cmd === "show") {
    console.log(JSON.stringify(library.entry(str("id")!), null, 2));
  } else if (cmd === "export" && (str("id") === undefined) === (str("prefix") === undefined)) {
    throw new Error(`export: give either --id ID (a library entry) or --prefix FILE (a kit prefix file)\n${USAGE}`);
  } else if (cmd === "export" && str("prefix") !== undefined) {
    const file = path.resolve(str("prefix")!);
    await initBackend();
    const files = exportPeftPrefix(file, path.resolve(str("out")!), peftBackbone(readPromptMeta(file).backbone.name), {
      overwrite: args.overwrite as boolean,
    });
    console.log(`wrote ${files.config} and ${files.weights}`);
  } else if (cmd === "export") {
    const entry = library.entry(str("id")!);
    await initBackend();
    const files = exportLibraryEntry(library, entry.id, path.resolve(str("out")!), peftBackbone(entry.backbone.name), {
      overwrite: args.overwrite as boolean,
    });
    console.log(`wrote ${files.config} and ${files.weights}`);
  } else {
    const task = str("task");
    let labels: readonly string[] | undefined;
    if (task !== undefined) {
      if (!(TASK_NAMES as readonly string[]).includes(task))
        throw new Error(`--task: unknown task '${task}': expected one of ${TASK_NAMES.join(", ")}`);
      labels = loadTask(task as TaskName).labels;
    }
    await initBackend();
    const adapter = path.resolve(str("adapter")!);
    const { file: configFile, obj } = readAdapterConfigObject(adapter);
    if (peftTypeOf(configFile, obj) === "PREFIX_TUNING") {
      if (str("out") === undefined)
        throw new Error(
          `${configFile}: a PREFIX_TUNING adapter holds key/value prefixes, which the prompt library does not hold; give --out FILE (the kit prefix file to write)`,
        );
      if (str("name") !== undefined) throw new Error(`--name names a library entry; a prefix goes to --out FILE`);
      const out = path.resolve(str("out")!);
      const meta = importPeftPrefix(adapter, out, peftBackbone(str("backbone")!), {
        task,
        labels,
        overwrite: args.overwrite as boolean,
      });
      console.log(`wrote ${out} (${meta.task}, ${meta.settings.length} prefix rows; kit.loadPromptModel loads it)`);
      return;
    }
    if (str("out") !== undefined)
      throw new Error(`--out is for PREFIX_TUNING adapters; ${adapter} is a prompt adapter, which goes to the library`);
    const entry = importAdapterToLibrary(library, adapter, peftBackbone(str("backbone")!), {
      task,
      labels,
      name: str("name"),
      overwrite: args.overwrite as boolean,
    });
    console.log(`added '${entry.id}' (${entry.task}, ${entry.settings.length} virtual tokens) to ${library.dir}`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
