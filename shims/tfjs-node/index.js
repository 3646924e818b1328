// danfojs-node hard-depends on @tensorflow/tfjs-node@3, whose install script downloads libtensorflow.
// This stand-in hands danfojs the kit's own tfjs engine: the real tfjs-node when the project has it
// installed (an optional dependency), else the pure-JS @tensorflow/tfjs. Resolution starts from the
// project root so both share one engine.
"use strict";
const path = require("path");
const root = path.resolve(__dirname, "..", "..");
function load(name) {
  return require(require.resolve(name, { paths: [root] }));
}
let tf;
try {
  tf = load("@tensorflow/tfjs-node");
  if (tf && tf.__kitShim) throw new Error("shim");
} catch (e) {
  tf = load("@tensorflow/tfjs");
}
module.exports = tf;
