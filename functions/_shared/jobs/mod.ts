// Conveyor's jobs runtime: one source for Deno edge functions and the Node container worker.
export { rpcClient, sqlClient } from './client.ts';
export type { JobsApi, RpcCapable } from './client.ts';
export { stopOnSignals, work, Worker } from './worker.ts';
export type { Handler, Job, PayloadSchema, RunSummary, WorkerEvent, WorkOptions } from './worker.ts';
export { classify, ConveyorError, fromDbError, httpError, JobTimeoutError, PermanentError, RateLimitedError } from './errors.ts';
export type { Backoff, EnqueueOptions, JobInfo, JobState, QueueCounts, QueueOptions } from './types.ts';
