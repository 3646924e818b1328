/**
 * lib/notebook: what the research notebooks share, so their cells stay short: which backbones are shipped,
 * running a list of cells resumably with live progress, results-file locations, summary and gap tables, and
 * the notebooks' figures. Notebooks import the compiled build: `import * as nb from "../build/lib/notebook";`.
 */
export * from "./backbones";
export * from "./checks";
export * from "./figures";
export * from "./fit-progress";
export * from "./ki-checks";
export * from "./ki-demo";
export * from "./ki-figures";
export * from "./ki-tables";
export * from "./paths";
export * from "./run-cells";
export * from "./sequence-text";
export * from "./start";
export * from "./study";
export * from "./tables";
export * from "./library-study";
export * from "./budget-study";
export * from "./moe-offload";
