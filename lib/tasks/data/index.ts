/** Labelled datasets for the kit's classification tasks: data model, splitting, loaders, registry. */
export * from "./example";
export { capPerLabel, dedupeExamples, dedupeKey, resolveSplitOptions } from "./split";
export * from "./sentiment";
export * from "./spam-assassin";
export { cleanEmail, composeEmailText, EMAIL_CLEANING_VERSION } from "./email-text";
export * from "./wordnet-pairs";
export * from "./task-file";
export * from "./registry";
