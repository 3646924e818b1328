/**
 * lib/viz: notebook display helpers (figures, tables, live progress) and the pure formatting they
 * are built on. Notebooks import the compiled build: `import * as viz from "../build/lib/viz";`.
 */
export * from "../io/format";
export * from "./html";
export * from "./mime";
export * from "./table";
export * from "./colors";
export * from "./figure";
export * from "./page";
export * from "./progress";
export * from "./display";
export * from "./show";
export * from "./live";
