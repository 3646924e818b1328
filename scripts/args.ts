/** A small strict command-line parser: --name value pairs, typed, with defaults; unknown flags are errors. */

export type ArgSpec =
  | { type: "string"; default?: string; required?: boolean }
  | { type: "int"; default?: number; required?: boolean }
  | { type: "float"; default?: number; required?: boolean }
  | { type: "bool"; default?: boolean };

export function parseArgs(
  argv: readonly string[],
  spec: Record<string, ArgSpec>,
  usage: string,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument '${a}'\n${usage}`);
    const name = a.slice(2);
    const s = spec[name];
    if (!s) throw new Error(`unknown option --${name}\n${usage}`);
    if (s.type === "bool") {
      out[name] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`option --${name} needs a value\n${usage}`);
    if (s.type === "string") out[name] = v;
    else {
      const n = Number(v);
      if (!Number.isFinite(n) || (s.type === "int" && !Number.isInteger(n))) {
        throw new Error(`option --${name}: expected ${s.type === "int" ? "an integer" : "a number"}, got '${v}'`);
      }
      out[name] = n;
    }
  }
  for (const [k, s] of Object.entries(spec)) {
    if ("required" in s && s.required && out[k] === undefined) throw new Error(`missing --${k}\n${usage}`);
  }
  return out;
}
