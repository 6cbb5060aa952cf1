// Error categories of the export worker, mapped onto the jobs runtime:
//   validation → PermanentError (bad payload/options: retrying cannot help)
//   permanent  → PermanentError (unknown export, template cannot render)
//   resource   → retried with backoff (browser crashed, out of memory, timeouts)
//   transient  → retried with backoff (database, Storage, network hiccups)
import { JobTimeoutError, PermanentError } from '../../functions/_shared/jobs/mod.ts';

export type ErrorCategory = 'transient' | 'permanent' | 'resource' | 'validation';

export class ExportError extends Error {
  override name = 'ExportError';
  constructor(message: string, readonly category: ErrorCategory, readonly cause?: unknown) {
    super(message);
  }
}

const RESOURCE = /Target closed|Session closed|Protocol error|browser has disconnected|Navigation timeout|TimeoutError|out of memory|ENOMEM|crash/i;

/** The category of any thrown value. */
export function categorize(err: unknown): ErrorCategory {
  if (err instanceof ExportError) return err.category;
  if (err instanceof PermanentError) return 'permanent';
  if (err instanceof JobTimeoutError) return 'resource';
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && /^CX00[1-5]$/.test(e.code)) return 'validation';
  if (e?.code === 'CX006') return 'permanent';
  if (RESOURCE.test(e?.message ?? '')) return 'resource';
  return 'transient';
}

/** What the runtime should see: PermanentError for validation/permanent, the error itself otherwise. */
export function toRuntimeError(err: unknown): Error {
  const category = categorize(err);
  const message = err instanceof Error ? err.message : String(err);
  if (category === 'validation' || category === 'permanent') {
    return err instanceof PermanentError ? err : new PermanentError(message, { category });
  }
  return err instanceof Error ? err : new Error(message);
}
