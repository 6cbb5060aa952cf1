// The worker runtime over the SQL contract, for Deno edge functions and Node processes alike.
//
//   const worker = work('email', async (job) => send(job.payload), { sql, schema, concurrency: 10 });
//   await worker.start();            // long-running (Node container): LISTEN + polling fallback
//   const summary = await work(...).runFor(20_000);   // edge function: work within a budget
//
// Claims in batches into a local buffer, runs up to `concurrency` handlers, completes in batches
// (jobs.complete_many; a handler's slot is free as soon as it returns, its completion rides the
// next flush), heartbeats for everything it holds, per-job timeout with an AbortSignal, error
// classification mapped to jobs.fail options, graceful stop that hands back unstarted jobs.
import type { Sql } from '../db.ts';
import { classify, JobTimeoutError, PermanentError } from './errors.ts';
import type { ClaimedRow } from './types.ts';

/** The minimal zod-compatible schema interface (any zod schema satisfies it). */
export interface PayloadSchema<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

export interface Job<T> {
  id: number;
  queue: string;
  payload: T;
  attempt: number;
  maxAttempts: number;
  priority: number;
  groupKey: string | null;
  owner: string | null;
  /** Aborted when the job times out or the worker is stopping past its deadline. */
  signal: AbortSignal;
  /** Records progress (0..100 plus detail) for clients following the job. */
  progress(percent: number, data?: unknown): Promise<void>;
}

export type Handler<T> = (job: Job<T>) => unknown | Promise<unknown>;

export interface WorkOptions<T> {
  sql: Sql;
  schema?: PayloadSchema<T>;
  /** Handlers running at once (default 10). */
  concurrency?: number;
  /** Jobs per claim; also how many may wait in the local buffer (default max(concurrency, 20)). */
  batchSize?: number;
  /** Lock per claim/heartbeat in ms (default: the job's timeout_ms, then the queue's lock_ms). */
  lockMs?: number;
  /** Handler timeout when the job has no timeout_ms of its own (default: none). */
  timeoutMs?: number;
  /** Polling fallback when no NOTIFY arrives (default 1000 ms). */
  pollIntervalMs?: number;
  /** Heartbeat period (default lockMs / 3, or 60 s). */
  heartbeatMs?: number;
  /** LISTEN on jobs.wake (default true). */
  listen?: boolean;
  workerId?: string;
  /** How long stop() lets running handlers finish before aborting them (default 30 s). */
  shutdownTimeoutMs?: number;
  /** Structured log sink (default: JSON lines on stdout for warnings and errors). */
  log?: (record: Record<string, unknown>) => void;
  /** Log every completion too (default false: completions are the hot path). */
  verbose?: boolean;
}

export type WorkerEvent = 'claimed' | 'completed' | 'failed' | 'retried' | 'stalled' | 'released' | 'error' | 'idle';

export interface RunSummary {
  claimed: number;
  completed: number;
  failed: number;
  retried: number;
  released: number;
  remaining: number;
  ms: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function defaultLog(record: Record<string, unknown>) {
  console.log(JSON.stringify({ ts: new Date().toISOString(), ...record }));
}

/** The Job a handler sees. Its AbortController is created only if someone needs the signal. */
class RunningJob<T> implements Job<T> {
  readonly queue: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly groupKey: string | null;
  readonly owner: string | null;
  private controller?: AbortController;
  constructor(private readonly worker: Worker<T>, readonly id: number, public payload: T, row: ClaimedRow) {
    this.queue = worker.queue;
    this.attempt = row.attempt;
    this.maxAttempts = row.max_attempts;
    this.priority = row.priority;
    this.groupKey = row.group_key;
    this.owner = row.owner;
  }
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }
  abort(reason: unknown) {
    (this.controller ??= new AbortController()).abort(reason);
  }
  progress(percent: number, data?: unknown): Promise<void> {
    return this.worker.reportProgress(this.id, percent, data);
  }
}

export class Worker<T = unknown> {
  readonly workerId: string;
  readonly queue: string;
  private readonly sql: Sql;
  private readonly handler: Handler<T>;
  private readonly opts: Required<Pick<WorkOptions<T>, 'concurrency' | 'batchSize' | 'pollIntervalMs' | 'shutdownTimeoutMs' | 'listen' | 'verbose'>> &
    WorkOptions<T>;
  private readonly log: (r: Record<string, unknown>) => void;
  // double buffering: the next batch is claimed while the current one still feeds the
  // handlers, so no handler waits for a claim's round trip
  private readonly maxHeld: number;

  private buffer: ClaimedRow[] = [];
  private active = new Map<number, RunningJob<T>>();
  private idleWaiters: (() => void)[] = [];
  private pendingIds: number[] = [];
  private pendingResults: unknown[] = [];
  private flushing: Promise<void> | null = null;
  private running = false;
  private claiming = true;
  private wake: (() => void) | null = null;
  private woken = false;
  private pumpDone: Promise<void> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private listeners = new Map<WorkerEvent, Set<(data: Record<string, unknown>) => void>>();
  private readonly stats = { claimed: 0, completed: 0, failed: 0, retried: 0, released: 0 };

  constructor(queue: string, handler: Handler<T>, opts: WorkOptions<T>) {
    if (!opts?.sql) throw new Error('work(): options.sql (a postgres.js connection) is required');
    const concurrency = opts.concurrency ?? 10;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('work(): concurrency must be a positive integer');
    this.queue = queue;
    this.handler = handler;
    this.sql = opts.sql;
    this.opts = {
      ...opts,
      concurrency,
      batchSize: opts.batchSize ?? Math.max(concurrency, 20),
      pollIntervalMs: opts.pollIntervalMs ?? 1000,
      shutdownTimeoutMs: opts.shutdownTimeoutMs ?? 30000,
      listen: opts.listen ?? true,
      verbose: opts.verbose ?? false,
    };
    this.workerId = opts.workerId ?? `${queue}:${crypto.randomUUID().slice(0, 8)}`;
    this.maxHeld = this.opts.concurrency + 2 * this.opts.batchSize;
    this.log = opts.log ?? defaultLog;
  }

  on(event: WorkerEvent, fn: (data: Record<string, unknown>) => void): this {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)!.add(fn);
    return this;
  }

  private emit(event: WorkerEvent, data: Record<string, unknown>) {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(data);
      } catch { /* a listener must not break the worker */ }
    }
  }

  private record(level: string, event: string, fields: Record<string, unknown> = {}) {
    this.log({ level, fn: 'jobs.worker', event, queue: this.queue, worker_id: this.workerId, ...fields });
  }

  /** Counters since start: claimed, completed, failed, retried, released. */
  get counters(): Readonly<{ claimed: number; completed: number; failed: number; retried: number; released: number }> {
    return { ...this.stats };
  }

  /** Starts claiming; resolves once the worker is listening and its first claim was made. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.claiming = true;
    if (this.opts.listen) {
      const sub = await this.sql.listen('jobs.wake', (payload: string) => {
        if (payload === this.queue) this.poke();
      });
      this.unlisten = () => sub.unlisten();
    }
    const hbMs = this.opts.heartbeatMs ?? (this.opts.lockMs ? Math.max(100, Math.floor(this.opts.lockMs / 3)) : 60000);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), hbMs);
    this.pumpDone = this.pump();
    this.record('info', 'worker.started', { concurrency: this.opts.concurrency, batch_size: this.opts.batchSize });
  }

  /** Claims and works until budgetMs is spent (or the queue is empty), then stops and reports. */
  async runFor(budgetMs: number, { stopWhenIdle = true, lingerMs = 0 } = {}): Promise<RunSummary> {
    const t0 = Date.now();
    await this.start();
    const deadline = t0 + budgetMs;
    let idle = false;
    const onIdle = () => (idle = true);
    this.on('idle', onIdle);
    for (;;) {
      if (Date.now() >= deadline) break;
      if (stopWhenIdle && idle && this.active.size === 0 && this.buffer.length === 0) {
        // nothing runnable: wait for a retry due within lingerMs (e.g. after an upstream 429)
        const due = lingerMs > 0 ? await this.nextDue() : null;
        const wait = due === null ? Infinity : due - Date.now();
        if (wait > lingerMs || Date.now() + wait > deadline) break;
        idle = false;
        await sleep(Math.max(0, wait) + 5);
        this.poke();
        continue;
      }
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
    this.listeners.get('idle')?.delete(onIdle);
    await this.stop({ timeoutMs: Math.max(0, deadline - Date.now()) });
    const [c] = await this.sql`select queued from jobs.counts(${this.queue})`;
    return { ...this.stats, remaining: Number(c?.queued ?? 0), ms: Date.now() - t0 };
  }

  /**
   * Graceful stop: no more claims; running handlers get `timeoutMs` to finish, then are aborted
   * and their jobs handed back; buffered jobs that never started are handed back (not failed);
   * pending completions are flushed.
   */
  async stop({ timeoutMs = this.opts.shutdownTimeoutMs } = {}): Promise<void> {
    if (!this.running) return;
    this.claiming = false;
    this.poke();
    await this.pumpDone;
    // hand back what never started, at once, so another worker can take it
    await this.releaseJobs(this.buffer.splice(0).map((r) => Number(r.id)), 'not started');
    const all = this.whenIdle();
    const timedOut = await Promise.race([all.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut) {
      const ids = [...this.active.keys()];
      for (const job of this.active.values()) job.abort(new Error('worker stopping'));
      this.record('warn', 'worker.shutdown_timeout', { aborted: ids.length, timeout_ms: timeoutMs });
      await Promise.race([all, sleep(1000)]);
      await this.flush();
      await this.releaseJobs(ids.filter((id) => this.active.has(id)), 'shutdown deadline passed');
    }
    await this.flush();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.unlisten) await this.unlisten().catch(() => {});
    this.running = false;
    this.record('info', 'worker.stopped', { ...this.stats });
  }

  private async nextDue(): Promise<number | null> {
    const [r] = await this.sql`select jobs.next_run_at(${this.queue}) as t`;
    return r?.t ? new Date(r.t as string).getTime() : null;
  }

  private poke() {
    this.woken = true;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async pump(): Promise<void> {
    const { concurrency, batchSize, pollIntervalMs } = this.opts;
    const maxHeld = this.maxHeld;
    while (this.claiming) {
      const held = this.buffer.length + this.active.size;
      const room = maxHeld - held;
      // claim when a full batch fits, or when handlers are about to starve
      if (room < Math.min(batchSize, maxHeld) && this.buffer.length >= concurrency) {
        await this.waitForWake(pollIntervalMs);
        continue;
      }
      const want = Math.min(batchSize, room);
      if (want <= 0) {
        await this.waitForWake(pollIntervalMs);
        continue;
      }
      this.woken = false;
      let rows: ClaimedRow[] = [];
      try {
        rows = (await this.sql`select id, payload, attempt, max_attempts, priority, group_key, timeout_ms, owner
                                 from jobs.claim(${this.queue}, ${this.workerId}, ${want}, ${this.opts.lockMs ?? null})`) as unknown as ClaimedRow[];
      } catch (err) {
        this.record('error', 'claim.failed', { error: (err as Error).message });
        this.emit('error', { error: err });
        await sleep(Math.min(5000, pollIntervalMs));
        continue;
      }
      if (rows.length) {
        this.stats.claimed += rows.length;
        this.emit('claimed', { count: rows.length });
        if (!this.claiming) {
          await this.releaseJobs(rows.map((r) => Number(r.id)), 'claimed while stopping');
          break;
        }
        this.buffer.push(...rows);
        this.dispatch();
      }
      if (rows.length < want) {
        if (this.active.size === 0 && this.buffer.length === 0) this.emit('idle', {});
        await this.waitForWake(pollIntervalMs);
      }
    }
  }

  private dispatch() {
    while (this.active.size < this.opts.concurrency && this.buffer.length && this.claiming) {
      void this.execute(this.buffer.shift()!);
    }
  }

  /** Resolves when no handler is running. */
  private whenIdle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // Hot path: one RunningJob per job, no AbortController unless the handler asks for its
  // signal or the job has a timeout, no promise chains beyond the handler's own.
  private async execute(row: ClaimedRow): Promise<void> {
    const id = Number(row.id);
    const timeoutMs = row.timeout_ms ?? this.opts.timeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let payload = row.payload as T;
    const job = new RunningJob<T>(this, id, payload, row);
    this.active.set(id, job);
    try {
      if (this.opts.schema) {
        const parsed = this.opts.schema.safeParse(row.payload);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const field = ['payload', ...(issue?.path ?? []).map(String)].join('.');
          throw new PermanentError(`${field}: ${issue?.message ?? 'invalid'}`, { field });
        }
        payload = job.payload = parsed.data;
      }
      let result: unknown;
      if (timeoutMs) {
        result = await Promise.race([
          this.handler(job),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const e = new JobTimeoutError(timeoutMs);
              reject(e); // first: a handler that resolves on abort must not win the race
              job.abort(e);
            }, timeoutMs);
          }),
        ]);
      } else {
        const r = this.handler(job);
        result = r instanceof Promise ? await r : r;
      }
      this.pendingIds.push(id);
      this.pendingResults.push(result === undefined ? null : result);
      this.scheduleFlush();
      if (this.opts.verbose) this.record('info', 'job.completed', { job_id: id, attempt: row.attempt });
    } catch (err) {
      await this.failJob(row, err);
    } finally {
      if (timer) clearTimeout(timer);
      this.active.delete(id);
      if (this.active.size === 0 && this.idleWaiters.length) for (const w of this.idleWaiters.splice(0)) w();
      this.dispatch();
      // wake the pump once a whole batch fits again (or the handlers are about to starve)
      if (this.wake && (this.maxHeld - this.buffer.length - this.active.size >= this.opts.batchSize ||
        this.buffer.length < this.opts.concurrency)) this.poke();
    }
  }

  /** Records progress of a job this worker holds (used by Job.progress). */
  async reportProgress(id: number, percent: number, data: unknown): Promise<void> {
    await this.sql`select jobs.progress(${id}, ${this.workerId}, ${percent}, ${data === undefined ? null : this.sql.json(data as never)})`;
  }

  private async failJob(row: ClaimedRow, err: unknown) {
    const id = Number(row.id);
    const { error, options, kind } = classify(err);
    try {
      const [r] = await this.sql`select jobs.fail(${id}, ${this.workerId}, ${this.sql.json(error as never)}, ${this.sql.json(options as never)}) as state`;
      const state = r?.state as string | null;
      if (state === 'failed') {
        this.stats.failed++;
        this.emit('failed', { jobId: id, error, kind });
        this.record('warn', 'job.failed', { job_id: id, attempt: row.attempt, kind, error: error.message });
      } else if (state === 'queued') {
        this.stats.retried++;
        this.emit('retried', { jobId: id, error, kind });
        this.record('info', 'job.retry_scheduled', { job_id: id, attempt: row.attempt, kind, error: error.message });
      } else {
        this.emit('stalled', { jobId: id });
        this.record('warn', 'job.lock_lost', { job_id: id, attempt: row.attempt, hint: 'the lock expired before the job failed; it was rescued' });
      }
    } catch (e) {
      this.record('error', 'fail.failed', { job_id: id, error: (e as Error).message });
      this.emit('error', { error: e });
    }
  }

  // Completions go out in batches (group commit): while one complete_many is in flight, the
  // completions of the handlers that finish meanwhile accumulate for the next one. (A second
  // concurrent batch was measured slower: 57k against 72k jobs/s, docs/benchmarks.md.)
  private scheduleFlush() {
    if (this.flushing) return;
    this.flushing = (async () => {
      // let handlers that finish in the same tick join this batch
      await Promise.resolve();
      while (this.pendingIds.length) {
        const ids = this.pendingIds.splice(0);
        const results = this.pendingResults.splice(0);
        const withResults = results.some((r) => r !== null);
        try {
          const [r] = withResults
            ? await this.sql`select jobs.complete_many(${ids}::bigint[], ${this.workerId}, ${this.sql.json(results as never)}) as n`
            : await this.sql`select jobs.complete_many(${ids}::bigint[], ${this.workerId}) as n`;
          const n = Number(r.n);
          this.stats.completed += n;
          this.emit('completed', { count: n, jobIds: ids });
          if (n < ids.length) {
            this.emit('stalled', { count: ids.length - n });
            this.record('warn', 'complete.lock_lost', { sent: ids.length, held: n, hint: 'locks expired before completion: raise lockMs or heartbeat more often' });
          }
        } catch (err) {
          this.record('error', 'complete.failed', { count: ids.length, error: (err as Error).message, hint: 'the jobs stay locked and are rescued after their lock expires' });
          this.emit('error', { error: err });
        }
      }
      this.flushing = null;
    })();
  }

  private async flush() {
    while (this.flushing) await this.flushing;
    if (this.pendingIds.length) {
      this.scheduleFlush();
      await this.flushing;
    }
  }

  private async heartbeat() {
    const ids = [...this.active.keys(), ...this.buffer.map((r) => Number(r.id))];
    if (!ids.length) return;
    try {
      const [r] = await this.sql`select jobs.heartbeat(${ids}::bigint[], ${this.workerId}, ${this.opts.lockMs ?? null}) as n`;
      const n = Number(r.n);
      if (n < ids.length) {
        this.emit('stalled', { count: ids.length - n });
        this.record('warn', 'heartbeat.lock_lost', { held: n, expected: ids.length });
      }
    } catch (err) {
      this.record('error', 'heartbeat.failed', { error: (err as Error).message });
    }
  }

  private async releaseJobs(ids: number[], reason: string) {
    if (!ids.length) return;
    try {
      const [r] = await this.sql`select jobs.release(${ids}::bigint[], ${this.workerId}) as n`;
      const n = Number(r.n);
      this.stats.released += n;
      this.emit('released', { count: n, reason });
      this.record('info', 'jobs.released', { count: n, reason });
    } catch (err) {
      this.record('error', 'release.failed', { count: ids.length, error: (err as Error).message, hint: 'they are rescued when their lock expires' });
    }
  }
}

/** Creates a worker for `queue`; call `.start()` (long-running) or `.runFor(ms)` (edge function). */
export function work<T = unknown>(queue: string, handler: Handler<T>, opts: WorkOptions<T>): Worker<T> {
  return new Worker<T>(queue, handler, opts);
}

/** Node: stop the workers gracefully on SIGTERM/SIGINT, then run `after` (e.g. close the pool). */
export function stopOnSignals(workers: Worker<unknown>[], after?: () => Promise<void> | void) {
  // deno-lint-ignore no-explicit-any
  const proc = (globalThis as any).process;
  if (!proc?.once) return;
  let stopping = false;
  const handler = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    defaultLog({ level: 'info', fn: 'jobs.worker', event: 'signal', signal });
    await Promise.all(workers.map((w) => w.stop()));
    await after?.();
    proc.exit(0);
  };
  proc.once('SIGTERM', () => handler('SIGTERM'));
  proc.once('SIGINT', () => handler('SIGINT'));
}
