// Errors of the jobs runtime. Handlers throw these to say how a failure should be treated;
// database errors raised by the engine (SQLSTATE CV0xx, hint = the offending key) become
// ConveyorError with `code` and `field`.

/** Do not retry: the job goes straight to `failed` (bad input, a 4xx from an upstream API). */
export class PermanentError extends Error {
  override name = 'PermanentError';
  readonly code = 'permanent';
  constructor(message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

/** Upstream said "slow down" (HTTP 429): retry after `retryAfterMs` without spending an attempt. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  readonly code = 'rate_limited';
  constructor(message: string, readonly retryAfterMs: number, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

/** The handler ran past its timeout; retried with backoff like any transient error. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
  readonly code = 'timeout';
  constructor(readonly timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
  }
}

/** An error the engine raised, mapped from its documented SQLSTATE codes. */
export class ConveyorError extends Error {
  override name = 'ConveyorError';
  constructor(message: string, readonly code: string, readonly field?: string, readonly hint?: string) {
    super(message);
  }
}

const ENGINE_CODES: Record<string, string> = {
  CV001: 'unknown_option',
  CV002: 'invalid_option',
  CV003: 'unknown_queue',
  CV004: 'unknown_job',
  CV006: 'dedupe_key_taken',
};

/** Wraps a postgres.js / PostgREST error from the engine into a ConveyorError (others pass through). */
export function fromDbError(err: unknown): unknown {
  // deno-lint-ignore no-explicit-any
  const e = err as any;
  const sqlstate: string | undefined = e?.code;
  if (typeof sqlstate === 'string' && /^CV\d{3}$/.test(sqlstate)) {
    const code = ENGINE_CODES[sqlstate] ?? (sqlstate >= 'CV010' && sqlstate <= 'CV015' ? 'user_enqueue_refused' : 'engine_error');
    return new ConveyorError(e.message, code, e.hint ?? undefined, e.hint ?? undefined);
  }
  return err;
}

/** How a thrown value maps to jobs.fail options. */
export function classify(err: unknown): { error: Record<string, unknown>; options: Record<string, unknown>; kind: string } {
  const message = err instanceof Error ? err.message : String(err);
  const base: Record<string, unknown> = { message, name: err instanceof Error ? err.name : 'Error' };
  if (err instanceof PermanentError) return { error: { ...base, ...err.details }, options: { permanent: true }, kind: 'permanent' };
  if (err instanceof RateLimitedError) {
    return {
      error: { ...base, ...err.details, retry_after_ms: err.retryAfterMs },
      options: { retry_after_ms: Math.max(0, Math.round(err.retryAfterMs)) },
      kind: 'rate_limited',
    };
  }
  return { error: base, options: {}, kind: err instanceof JobTimeoutError ? 'timeout' : 'transient' };
}

/**
 * Maps an HTTP response from an upstream API to the right error: 429 -> RateLimitedError
 * (Retry-After in seconds or an HTTP date), other 4xx -> PermanentError, 5xx -> transient Error.
 */
export function httpError(status: number, message: string, retryAfter?: string | null, now = Date.now()): Error {
  if (status === 429) {
    let ms = 1000;
    if (retryAfter) {
      const secs = Number(retryAfter);
      ms = Number.isFinite(secs) ? secs * 1000 : Math.max(0, Date.parse(retryAfter) - now) || 1000;
    }
    return new RateLimitedError(message, ms, { status });
  }
  if (status >= 400 && status < 500 && status !== 408) return new PermanentError(message, { status });
  return Object.assign(new Error(message), { status });
}
