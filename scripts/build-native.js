#!/usr/bin/env node
/*
 * Builds the native kernel addon (native/kit_native.c -> native/build/kit_native.node) with the system C compiler.
 *
 *   node scripts/build-native.js             build (npm's install step runs this); never fails the install
 *   node scripts/build-native.js --if-stale  build only if the source changed since the last build (quiet when fresh)
 *   node scripts/build-native.js --strict    exit 1 when the build fails (npm run build:native)
 *
 * The addon needs only a C compiler and Node's N-API headers; BLAS is opened at run time (dlopen), so a machine
 * without OpenBLAS still builds it and the kit falls back to its WebAssembly kernels, saying so. Always prints one
 * line saying what was built and which kernels the kit will use, with how to get the fast path when it is not there.
 * Plain JavaScript on purpose: it runs during `npm install`, before TypeScript is compiled.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SRC = path.join(ROOT, "native", "kit_native.c");
const OUT_DIR = path.join(ROOT, "native", "build");
const OUT = path.join(OUT_DIR, "kit_native.node");
const INFO = path.join(OUT_DIR, "build-info.json");
const LIBS = path.join(ROOT, "native", "blas-libraries.json");

const FAST_PATH_HINT =
  process.platform === "darwin"
    ? "xcode-select --install (BLAS comes from the Accelerate framework), then npm run build:native"
    : "apt-get install build-essential libopenblas0-pthread (Debian/Ubuntu; other Linux: a C compiler and OpenBLAS), then npm run build:native";

const args = new Set(process.argv.slice(2));
const strict = args.has("--strict");
const ifStale = args.has("--if-stale");

function say(line) {
  console.log(`softprompt-kit: ${line}`);
}

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Directories that may hold node_api.h (N-API is ABI-stable: any Node >= 12 headers do). */
function headerDirs() {
  const dirs = [];
  const nodedir = process.env.npm_config_nodedir;
  if (nodedir) dirs.push(path.join(nodedir, "include", "node"));
  dirs.push(path.resolve(path.dirname(process.execPath), "..", "include", "node"));
  dirs.push("/usr/include/node", "/usr/local/include/node", "/opt/homebrew/include/node");
  const cache = process.platform === "darwin" ? path.join(os.homedir(), "Library", "Caches", "node-gyp") : path.join(os.homedir(), ".cache", "node-gyp");
  dirs.push(path.join(cache, process.versions.node, "include", "node"));
  return dirs;
}

function findCompiler() {
  const candidates = [process.env.CC, "cc", "gcc", "clang"].filter(Boolean);
  for (const cc of candidates) {
    const r = spawnSync(cc, ["--version"], { encoding: "utf8" });
    if (r.status === 0) return { cc, version: r.stdout.split("\n")[0] };
  }
  return null;
}

function compile(cc, include, extra) {
  // Reassociation lets the row sums (softmax, LayerNorm) vectorise; NaN and Inf semantics are kept (no -ffast-math).
  const flags = ["-O3", ...extra, "-fno-math-errno", "-fno-trapping-math", "-fno-signed-zeros", "-fassociative-math", "-std=c11", "-fPIC", "-Wall", "-Wextra", "-DNODE_GYP_MODULE_NAME=kit_native", `-I${include}`];
  const link = [...(process.platform === "darwin" ? ["-bundle", "-undefined", "dynamic_lookup"] : ["-shared", "-ldl", "-lm"]), ...extra.filter((f) => f === "-fopenmp")];
  const tmp = `${OUT}.tmp-${process.pid}`;
  const r = spawnSync(cc, [...flags, "-o", tmp, SRC, ...link], { encoding: "utf8" });
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    return { ok: false, flags, message: (r.stderr || r.error?.message || "").trim().split("\n").slice(-3).join(" | ") };
  }
  fs.renameSync(tmp, OUT);
  return { ok: true, flags };
}

/** Loads the new addon and opens BLAS, to report in one line what the kit will use. */
function probe() {
  try {
    const addon = require(OUT);
    const libs = JSON.parse(fs.readFileSync(LIBS, "utf8"))[process.platform] ?? [];
    const info = addon.init(process.env.KIT_BLAS ? [process.env.KIT_BLAS] : libs);
    return { ok: true, library: info.library };
  } catch (err) {
    return { ok: false, message: String(err && err.message ? err.message : err) };
  }
}

function main() {
  if (!fs.existsSync(SRC)) {
    say(`native kernels not built: ${path.relative(ROOT, SRC)} is missing; using the WebAssembly kernels`);
    return 0;
  }
  const sourceHash = sha256(SRC);
  if (ifStale && fs.existsSync(OUT) && fs.existsSync(INFO)) {
    try {
      const prev = JSON.parse(fs.readFileSync(INFO, "utf8"));
      if (prev.sourceSha256 === sourceHash) return 0;
    } catch {
      // unreadable build info: rebuild
    }
  }
  if (process.env.KIT_SKIP_NATIVE_BUILD) {
    say("native kernels not built (KIT_SKIP_NATIVE_BUILD is set); using the WebAssembly kernels");
    return 0;
  }
  const compiler = findCompiler();
  if (!compiler) {
    say(`native kernels not built: no C compiler found (tried $CC, cc, gcc, clang); using the WebAssembly kernels. Fast path: ${FAST_PATH_HINT}`);
    return strict ? 1 : 0;
  }
  const include = headerDirs().find((d) => fs.existsSync(path.join(d, "node_api.h")));
  if (!include) {
    say(`native kernels not built: Node's headers (node_api.h) were not found; using the WebAssembly kernels. Fast path: ${FAST_PATH_HINT}`);
    return strict ? 1 : 0;
  }
  fs.mkdirSync(OUT_DIR, { recursive: true });
  // -march=native: the addon is built on the machine that runs it (at npm install); -fopenmp: attention's
  // (batch, head) loop on every BLAS thread. Each is dropped in turn if the compiler refuses it.
  let built = { ok: false, message: "" };
  const refused = [];
  for (const extra of [["-march=native", "-fopenmp"], ["-fopenmp"], ["-march=native"], []]) {
    built = compile(compiler.cc, include, extra);
    if (built.ok) break;
    refused.push(`${extra.join(" ") || "plain"}: ${built.message}`);
  }
  if (built.ok && refused.length > 0) say(`native build: fell back to ${built.flags.filter((f) => f === "-fopenmp" || f === "-march=native").join(" ") || "plain -O3"} (${refused[0]})`);
  if (!built.ok) {
    say(`native kernels not built: ${compiler.cc} failed (${built.message}); using the WebAssembly kernels. Fast path: ${FAST_PATH_HINT}`);
    return strict ? 1 : 0;
  }
  const info = { sourceSha256: sourceHash, compiler: compiler.version, flags: built.flags, refused, headers: include, node: process.version, builtAt: new Date().toISOString() };
  fs.writeFileSync(INFO, JSON.stringify(info, null, 2) + "\n");
  const p = probe();
  if (p.ok) {
    say(`native kernels built (${compiler.cc}, BLAS ${p.library}): the kit will use them (KIT_KERNELS=wasm|tfjs picks another set)`);
    return 0;
  }
  say(`native kernels built but not usable here (${p.message}); using the WebAssembly kernels. Fast path: ${FAST_PATH_HINT}`);
  return strict ? 1 : 0;
}

try {
  process.exitCode = main();
} catch (err) {
  say(`native kernels not built: ${err && err.message ? err.message : err}; using the WebAssembly kernels. Fast path: ${FAST_PATH_HINT}`);
  process.exitCode = strict ? 1 : 0;
}
