// The jobs client: enqueue and manage jobs over the SQL contract, either with a direct
// Postgres connection (postgres.js) or, for apps, through supabase-js `rpc` on the `jobs`
// schema with the permissions the engine grants that caller.
import type { Sql } from '../db.ts';
import { fromDbError } from './errors.ts';
import { type EnqueueOptions, type JobInfo, type QueueCounts, type QueueOptions, toSqlOptions } from './types.ts';

export interface JobsApi {
  enqueue(queue: string, payload?: unknown, options?: EnqueueOptions): Promise<number>;
  enqueueMany(queue: string, payloads: unknown[], options?: EnqueueOptions): Promise<number[]>;
  get(jobId: number): Promise<JobInfo | null>;
  counts(queue?: string): Promise<QueueCounts[]>;
  cancel(jobId: number): Promise<boolean>;
  retry(jobId: number): Promise<boolean>;
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  schedule(name: string, cron: string, queue: string, payload?: unknown, options?: EnqueueOptions): Promise<void>;
  unschedule(name: string): Promise<void>;
  createQueue(name: string, options?: QueueOptions): Promise<unknown>;
  updateQueue(name: string, options: QueueOptions): Promise<unknown>;
}

const num = (v: unknown) => Number(v);

async function wrap<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw fromDbError(err);
  }
}

/** A client over a direct Postgres connection (service code: edge functions, workers, scripts). */
export function sqlClient(sql: Sql): JobsApi {
  const j = (v: unknown) => sql.json((v ?? {}) as never);
  return {
    enqueue: (queue, payload = {}, options) =>
      wrap(sql`select jobs.enqueue(${queue}, ${j(payload)}, ${j(toSqlOptions(options))}) as id`.then((r) => num(r[0].id))),
    enqueueMany: (queue, payloads, options) =>
      wrap(sql`select id from jobs.enqueue_many(${queue}, ${j(payloads)}, ${j(toSqlOptions(options))}) as id`.then((r) => r.map((x) => num(x.id)))),
    get: (jobId) => wrap(sql`select jobs.get(${jobId}) as job`.then((r) => (r[0].job ?? null) as JobInfo | null)),
    counts: (queue) =>
      wrap(
        (queue ? sql`select * from jobs.counts(${queue})` : sql`select * from jobs.counts()`).then((rows) =>
          rows.map((r) => ({
            queue: r.queue,
            queued: num(r.queued),
            delayed: num(r.delayed),
            running: num(r.running),
            completed: num(r.completed),
            failed: num(r.failed),
            cancelled: num(r.cancelled),
          }))
        ),
      ),
    cancel: (jobId) => wrap(sql`select jobs.cancel(${jobId}) as ok`.then((r) => Boolean(r[0].ok))),
    retry: (jobId) => wrap(sql`select jobs.retry(${jobId}) as ok`.then((r) => Boolean(r[0].ok))),
    pause: (queue) => wrap(sql`select jobs.pause(${queue})`.then(() => undefined)),
    resume: (queue) => wrap(sql`select jobs.resume(${queue})`.then(() => undefined)),
    schedule: (name, cron, queue, payload = {}, options) =>
      wrap(sql`select jobs.schedule(${name}, ${cron}, ${queue}, ${j(payload)}, ${j(toSqlOptions(options))})`.then(() => undefined)),
    unschedule: (name) => wrap(sql`select jobs.unschedule(${name})`.then(() => undefined)),
    createQueue: (name, options) => wrap(sql`select jobs.create_queue(${name}, ${j(toSqlOptions(options))}) as q`.then((r) => r[0].q)),
    updateQueue: (name, options) => wrap(sql`select jobs.update_queue(${name}, ${j(toSqlOptions(options))}) as q`.then((r) => r[0].q)),
  };
}

/** The slice of supabase-js this client needs (`client.schema('jobs').rpc(...)`). */
export interface RpcCapable {
  schema(name: string): { rpc(fn: string, args?: Record<string, unknown>): PromiseLike<{ data: unknown; error: unknown }> };
}

/**
 * A client through supabase-js. With the service-role key it can do everything the SQL client
 * can; with a signed-in user's session only what the engine grants `authenticated`
 * (`enqueueAsUser` on opted-in queues, `get` of the user's own jobs).
 */
export function rpcClient(supabase: RpcCapable) {
  const call = async (fn: string, args: Record<string, unknown>) => {
    const { data, error } = await supabase.schema('jobs').rpc(fn, args);
    if (error) throw fromDbError(error);
    return data;
  };
  return {
    enqueue: async (queue: string, payload: unknown = {}, options?: EnqueueOptions) =>
      num(await call('enqueue', { queue, payload, options: toSqlOptions(options) })),
    enqueueMany: async (queue: string, payloads: unknown[], options?: EnqueueOptions) =>
      ((await call('enqueue_many', { queue, payloads, options: toSqlOptions(options) })) as unknown[]).map(num),
    /** Enqueue as the signed-in user into a queue that opted in to user enqueue. */
    enqueueAsUser: async (queue: string, payload: unknown = {}, options?: Pick<EnqueueOptions, 'dedupeKey' | 'delayMs' | 'runAt'>) =>
      num(await call('enqueue_as_user', { queue, payload, options: toSqlOptions(options) })),
    get: async (jobId: number) => ((await call('get', { job_id: jobId })) ?? null) as JobInfo | null,
    cancel: async (jobId: number) => Boolean(await call('cancel', { job_id: jobId })),
    retry: async (jobId: number) => Boolean(await call('retry', { job_id: jobId })),
    pause: async (queue: string) => void (await call('pause', { queue })),
    resume: async (queue: string) => void (await call('resume', { queue })),
  };
}
