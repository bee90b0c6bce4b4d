// spate/pipeline: stages over a source, in one process (and, through the same stage definitions, on a broker).
export { type StageKind, type StageContext, type StageFn, type AutoscaleOptions, type StageRetryOptions, type StageOptions, type BatchOptions, type StageSettings, type Stage, defineStage, outputsOf } from './stage.ts';
export { type DeadLetter, type DeadLetterError, type StoredDeadLetter, describeError, deadLetter } from './dead-letter.ts';
export { type Outcome, type InvokeOptions, invoke } from './invoke.ts';
export { type Observation, type AutoscalerSettings, Autoscaler } from './autoscaler.ts';
export { type DeadLetterQuery, type PipelineStore, MemoryPipelineStore, SqlitePipelineStore } from './store.ts';
export { type PostgresPipelineStoreOptions, PostgresPipelineStore } from './postgres-store.ts';
export {
  type Source, type ChunkedSource, type PipelineOptions, type RunOptions, type StageStats, type PipelineStats, type RunResult, type Target,
  chunked, pipeline, Pipeline,
} from './pipeline.ts';
export {
  type FileTargetOptions, splitLines, lines, httpLines, linesFile, jsonlFile, toWritable, toWebWritable, keyedSink, exportRows, duplex, webTransform,
} from './io.ts';
export {
  type Broker, type BrokerOptions, type Producer, type Worker, type WorkerOptions, type WorkerEvent, type WorkerStats, type Sink, type SinkContext, type DeadLetters, type BrokerDeadLetter,
  type EnqueueOptions, type AnyStage, connectBroker,
} from './broker.ts';
export {
  type PipelineLike, type TransportOptions, type DistributedOptions, type DistributedWorkerOptions, type DistributedWorkers, type StageWorkerEvent, type StageQueue,
  type EnqueueSourceOptions, pipelineQueues, runDistributed, enqueueSource,
} from './distributed.ts';
export type { BullmqOptions } from './bullmq.ts';
export type { AmqpOptions } from './amqp.ts';
export { BrokerUrlError, FencedError, ConsumerTimeoutError, WorkerModuleError } from './errors.ts';
