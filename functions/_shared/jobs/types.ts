// Public types of the jobs runtime (shared by Deno edge functions and the Node worker).

export interface Backoff {
  kind: 'exponential' | 'fixed';
  baseMs?: number;
  maxMs?: number;
  jitter?: number;
}

/** Options of jobs.enqueue, in camelCase (mapped to the SQL contract's snake_case keys). */
export interface EnqueueOptions {
  priority?: number;
  runAt?: Date | string;
  delayMs?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  dedupeKey?: string;
  groupKey?: string;
  owner?: string;
  timeoutMs?: number;
}

export interface QueueOptions {
  maxAttempts?: number;
  backoff?: Backoff;
  lockMs?: number;
  timeoutMs?: number;
  concurrency?: number | null;
  groupConcurrency?: number | null;
  rateLimit?: { limit: number; intervalMs: number } | null;
  retention?: { completedMs?: number; failedMs?: number };
  paused?: boolean;
  userEnqueue?: Record<string, unknown> | null;
}

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobInfo {
  id: number;
  queue: string;
  state: JobState;
  priority: number;
  attempts: number;
  max_attempts: number;
  run_at: string;
  payload: unknown;
  result: unknown;
  last_error: unknown;
  progress: unknown;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface QueueCounts {
  queue: string;
  queued: number;
  delayed: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** A row returned by jobs.claim. */
export interface ClaimedRow {
  id: string | number;
  queue: string;
  payload: unknown;
  attempt: number;
  max_attempts: number;
  priority: number;
  group_key: string | null;
  timeout_ms: number | null;
  locked_until: Date | string;
  run_at: Date | string;
  created_at: Date | string;
  owner: string | null;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/** camelCase options -> the SQL contract's snake_case JSON (nested backoff/rate limit too). */
export function toSqlOptions(opts: object | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts ?? {})) {
    if (v === undefined) continue;
    if (v instanceof Date) out[snake(k)] = v.toISOString();
    else if (v && typeof v === 'object' && !Array.isArray(v)) out[snake(k)] = toSqlOptions(v);
    else out[snake(k)] = v;
  }
  return out;
}
