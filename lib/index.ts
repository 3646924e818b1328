/**
 * softprompt-kit's public API, in dependency order:
 * backend <- backbone <- prompt / tuning <- tasks / eval <- experiment <- viz.
 * Notebooks import the compiled form: `import * as kit from "../build/lib"`.
 */
export { tf, initBackend, backendInfo, backendLabel, type BackendInfo } from "./backend/backend";
export { Rng, seedFromString } from "./backend/random";

export { resolveConfig, nonEmbeddingParams, totalParams, DEFAULT_CONFIG, type TransformerConfig } from "./backbone/config";
export { Transformer, parameterSpec } from "./backbone/transformer";
export { loadCheckpoint, saveCheckpoint, type LoadedBackbone } from "./backbone/checkpoint";
export { fingerprint } from "./backbone/fingerprint";
export { BACKBONE_SIZES, sizeConfig } from "./backbone/sizes";
export { lmLoss } from "./backbone/lm-loss";
export { Tokenizer } from "./tokenizer/tokenizer";

export * as initializers from "./prompt/initializers";
export { parsePosition, positionName, PROMPT_SLOTS, type PromptSlot, type SlotLengths } from "./prompt/positions";
export { PromptSet, type PromptSettings } from "./prompt/soft-prompt";
export { spliceBatch } from "./prompt/splice";
export { savePrompt, loadPrompt, readPromptMeta } from "./prompt/prompt-file";
export { PromptLibrary, type LibraryEntry } from "./prompt/library";
export { frequentTokenIds, PROMPT_INITS, type PromptInitKind } from "./prompt/initializers";

// The short path (PEFT's get_peft_model + print_trainable_parameters): a prompt model that trains, scores and saves.
export { promptTuning, deepPromptTuning, loadPromptModel, PromptModel, type PromptConfig, type TaskInput } from "./prompt-model/prompt-model";
export { FIT_DEFAULTS, type FitOptions, type FitResult } from "./prompt-model/fit-options";
export { formatTrainableParameters, type TrainableParameters } from "./prompt-model/trainable-parameters";

export { METHODS, getMethod, type MethodName } from "./tuning/methods";
export { classScores, classLoss, lastHidden } from "./tuning/rank-scorer";
export type { Method, MethodContext, Tuned } from "./tuning/method";
export { AdamW } from "./train/adamw";
export { train, BatchSampler } from "./train/trainer";
export { learningRateAt, type Schedule } from "./train/schedule";

export { loadTask, TASK_NAMES, TASK_SOURCES } from "./tasks/data/registry";
export { loadTaskFile } from "./tasks/data/task-file";
export { describeTask, type Example, type TaskData } from "./tasks/data/example";
export { PreparedTask, type TaskItem } from "./tasks/prepared-task";
export { TASK_SPECS, defaultSpec, type TaskSpec } from "./tasks/task-specs";
export { Template } from "./tasks/template";
export { Verbalizer } from "./tasks/verbalizer";

export * from "./eval/metrics";
export * from "./eval/stats";

export { expandGrid, makeCell, type Cell, type GridSpec } from "./experiment/grid";
export { runGrid, describeGridEvent } from "./experiment/runner";
export { ProcessPool } from "./experiment/process-pool";
export { readRecords, type RunRecord } from "./experiment/record";
export { summarizeRecords, toCsv, formatSummaryTable, type SummaryRow } from "./experiment/summary";
export { methodGaps } from "./experiment/gaps";
export { runCell, CELL_DEFAULTS, DEFAULT_LR, backboneDir, projectRoot, predict, evaluateItems } from "./experiment/run-cell";

export { pretrain, type PretrainOptions, type PretrainResult } from "./pretrain/pretrainer";
export { kiLoss, type KiOptions } from "./pretrain/knowledge-inheritance";
export { computeSaved, type ComputeSaved } from "./pretrain/compute-saved";
export { kiResultFiles, readKiResult, type KiExperimentResult, type KiSeedResult } from "./pretrain/ki-experiment";

export * as viz from "./viz";
export { accuracyVsParamsFigure, learningCurvesFigure, costFigure, experimentReportHtml } from "./viz/report";
