// spate/pipeline: stages over a source, in one process (and, through the same stage definitions, on a broker).
export { type StageKind, type StageContext, type StageFn, type AutoscaleOptions, type StageRetryOptions, type StageOptions, type BatchOptions, type StageSettings, type Stage, defineStage, outputsOf } from './stage.ts';
export { type DeadLetter, type DeadLetterError, type StoredDeadLetter, describeError, deadLetter } from './dead-letter.ts';
export { type Outcome, type InvokeOptions, invoke } from './invoke.ts';
