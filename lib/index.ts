/**
 * softprompt-kit's public API: what a user of the kit needs, in dependency order
 * backend <- backbone <- prompt / tuning <- tasks / eval <- experiment <- viz.
 * Notebooks import the compiled form: `import * as kit from "../build/lib"`. Internals (splicing, optimizers,
 * schedules, worker pools) are imported from their own modules by the code that needs them.
 */
export { tf, initBackend, backendInfo, backendLabel, type BackendInfo } from "./backend/backend";

export { resolveConfig, nonEmbeddingParams, totalParams, type TransformerConfig } from "./backbone/config";
export { Transformer } from "./backbone/transformer";
export { loadCheckpoint, saveCheckpoint, type LoadedBackbone } from "./backbone/checkpoint";
export { fromPretrained, type FromPretrainedOptions } from "./backbone/from-pretrained";
export { fetchCheckpoint, type FetchedCheckpoint } from "./backbone/hub-checkpoint";
export { fetchHubBackbones } from "./experiment/project-paths";
export { fingerprint } from "./backbone/fingerprint";
export { BACKBONE_SIZES, MOE_SIZES } from "./backbone/sizes";
// Mixture-of-experts backbones: routing statistics and the load-balancing loss, and offloaded experts.
export { withMoeProbe, totalAuxLoss, type MoeProbe, type RoutingRecord } from "./backbone/moe/moe-probe";
export { loadOffloaded, parseExpertMemory, type OffloadedBackbone } from "./backbone/moe/offload";
export type { ExpertStore, ExpertStoreOptions, ExpertStoreStats } from "./backbone/moe/expert-store";
export { Tokenizer } from "./tokenizer/tokenizer";

// The short path (PEFT's get_peft_model + print_trainable_parameters): a prompt model that trains, scores and saves.
export {
  promptTuning,
  deepPromptTuning,
  prefixTuning,
  PromptModel,
  type PromptConfig,
  type TaskInput,
} from "./prompt-model/prompt-model";
export { loadPromptModel } from "./prompt-model/load-prompt-model";
export { FIT_DEFAULTS, type FitOptions, type FitResult } from "./prompt-model/fit-options";
export { formatTrainableParameters, type TrainableParameters } from "./prompt-model/trainable-parameters";

// Soft prompts themselves: initializers, positions, the [P, D] prompt set, prompt files and the prompt library.
export * as initializers from "./prompt/initializers";
export { frequentTokenIds, PROMPT_INITS, type PromptInitKind } from "./prompt/initializers";
export { parsePosition, positionName, PROMPT_SLOTS, type PromptSlot, type SlotLengths } from "./prompt/positions";
export { PromptSet, type PromptSettings } from "./prompt/soft-prompt";
export { savePrompt, loadPrompt, readPromptMeta, type LoadedPrompt, type PromptMeta } from "./prompt/prompt-file";
export { PromptLibrary, checkEntryName, type LibraryEntry, type LibraryQuery } from "./prompt/library";
// Hugging Face PEFT adapter folders (prompt tuning), prompt ensembles and prompt transfer.
export * as peft from "./prompt/peft";
export {
  exportPeftAdapter,
  importPeftAdapter,
  exportLibraryEntry,
  importAdapterToLibrary,
  peftBackboneOf,
} from "./prompt/peft";
export { ensembleClassScores } from "./tuning/ensemble-scorer";
export {
  loadEnsemble,
  scoreEnsemble,
  ensembleCost,
  type LoadedEnsemble,
  type EnsembleScores,
  type EnsembleCost,
} from "./prompt-model/prompt-ensemble";
export * from "./eval/ensemble";
export { cosineSimilarity, ranks, spearman } from "./eval/similarity";
export {
  transferCells,
  transferMatrix,
  checkTransferPair,
  type TransferSpec,
  type TransferEntry,
} from "./experiment/transfer";
// Key/value prefixes (prefix tuning): the trainable prefixes (direct or through the MLP) and their prefix file.
export { PrefixEncoder, prefixParamCount, type PrefixShape, type PrefixProjection } from "./prompt/prefix-encoder";
export { savePrefix, loadPrefix, PREFIX_FORMAT, type LoadedPrefix } from "./prompt/prefix-file";

// Tuning methods (adding one is a file and a registry line) and the trainer they share.
export { METHODS, getMethod, type MethodName } from "./tuning/methods";
export { classScores, classLoss } from "./tuning/rank-scorer";
export type { Method, MethodContext, Tuned } from "./tuning/method";
export { train, type TrainerOptions, type TrainResult } from "./train/trainer";

export { loadTask, TASK_NAMES } from "./tasks/data/registry";
export { loadTaskFile } from "./tasks/data/task-file";
export { describeTask, type Example, type TaskData } from "./tasks/data/example";
export { PreparedTask, type TaskItem } from "./tasks/prepared-task";
export { TASK_SPECS, type TaskSpec } from "./tasks/task-specs";
export { resolveTask, prepareTask, type ResolvedTask } from "./tasks/resolve-task";

export * from "./eval/metrics";
export * from "./eval/stats";
export { classBalance, imbalanceStatement } from "./eval/class-balance";

// Experiments as data: grids of cells, the resumable runner, records, summaries and paired gaps.
export { expandGrid, makeCell, type Cell, type ExpandGridOptions, type GridSpec } from "./experiment/grid";
export { runGrid } from "./experiment/runner";
export { readRecords, type RunRecord } from "./experiment/record";
export { summarizeRecords, toCsv, formatSummaryTable, type SummaryRow } from "./experiment/summary";
export { methodGaps } from "./experiment/gaps";
export { FLOOR_METHODS, floorVerdicts, type FloorVerdict } from "./experiment/floors";
export {
  RECOMMENDED_BUDGETS,
  RECOMMENDED_FIXED,
  RECOMMENDED_PROMPT_METHOD,
  recommendedMethodOptions,
} from "./experiment/recommended-budgets";
export {
  budgetGains,
  chooseLearningRates,
  recommendBudgets,
  runsOfChoice,
  type BudgetChoice,
  type BudgetGain,
} from "./experiment/budget-study";
export * from "./experiment/moe-bench-report";
export { runCell, CELL_DEFAULTS, DEFAULT_LR, backboneDir, projectRoot } from "./experiment/run-cell";

// Pre-training and knowledge inheritance (grow a larger backbone from a smaller one).
export { pretrain, type PretrainOptions, type PretrainResult } from "./pretrain/pretrainer";
export { kiLoss, type KiOptions } from "./pretrain/knowledge-inheritance";
export { computeSaved, type ComputeSaved } from "./pretrain/compute-saved";
export { kiResultFiles, readKiResult, type KiExperimentResult, type KiSeedResult } from "./pretrain/ki-experiment";

export * as viz from "./viz";
export { accuracyVsParamsFigure, learningCurvesFigure, costFigure } from "./viz/report";

// PEFT PREFIX_TUNING adapters <-> kit prefix files (prefix tuning trained with positions "after-prefix").
export { exportPeftPrefix, importPeftPrefix, peftPrefixBackboneOf } from "./prompt/peft";
