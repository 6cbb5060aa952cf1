// A thin sender over the `resend` package that speaks the jobs runtime's error language:
// 429 -> RateLimitedError (Retry-After), 4xx -> PermanentError with Resend's message,
// 5xx / network / auth / concurrent idempotent request -> plain Error (transient, retried with backoff).
// The base URL comes from `baseUrl`, else the SDK reads RESEND_BASE_URL, else https://api.resend.com.
import { type CreateEmailOptions, type ErrorResponse, Resend } from 'resend';
import { PermanentError, RateLimitedError } from '../jobs/errors.ts';

export type MailMessage = {
  from: string;
  to: string | string[];
  subject: string;
  cc?: string | string[];
  bcc?: string | string[];
  replyTo?: string | string[];
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
} & ({ html: string; text?: string } | { html?: string; text: string });

export interface SendOptions {
  /** Sent as Idempotency-Key; Resend keeps it 24 h. One key per message (or per batch). */
  idempotencyKey?: string;
}

export interface BatchOptions extends SendOptions {
  /** 'permissive' sends the valid messages and reports the others per index (default 'strict'). */
  validation?: 'strict' | 'permissive';
}

export interface BatchResult {
  /** Provider id per input message, in input order; null where the message was rejected. */
  ids: (string | null)[];
  errors: { index: number; error: PermanentError }[];
}

export interface Mailer {
  send(message: MailMessage, options?: SendOptions): Promise<{ id: string }>;
  sendBatch(messages: MailMessage[], options?: BatchOptions): Promise<BatchResult>;
}

const QUOTA_WAIT_MS = 60 * 60 * 1000;
const TRANSIENT_NAMES = new Set([
  'missing_api_key',
  'invalid_api_key',
  'restricted_api_key',
  'concurrent_idempotent_requests',
  'application_error',
  'internal_server_error',
]);

function retryAfterMs(headers: Record<string, string> | null, fallbackMs: number, now = Date.now()): number {
  const value = headers?.['retry-after'] ?? headers?.['ratelimit-reset'];
  if (!value) return fallbackMs;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallbackMs : Math.max(0, at - now);
}

/** Maps a Resend SDK error (and the response headers) to the runtime's error classes. */
export function toMailError(error: ErrorResponse, headers: Record<string, string> | null): Error {
  const status = error.statusCode;
  const details = { provider: 'resend', status, name: error.name };
  const message = error.message;
  if (status === 429) {
    const quota = error.name === 'daily_quota_exceeded' || error.name === 'monthly_quota_exceeded';
    return new RateLimitedError(message, retryAfterMs(headers, quota ? QUOTA_WAIT_MS : 1000), details);
  }
  if (
    status !== null && status >= 400 && status < 500 && status !== 408 && !TRANSIENT_NAMES.has(error.name)
  ) {
    return new PermanentError(message, details);
  }
  return Object.assign(new Error(message), details);
}

function toApi(m: MailMessage): CreateEmailOptions {
  const { replyTo, ...rest } = m;
  return { ...rest, ...(replyTo ? { replyTo } : {}) } as CreateEmailOptions;
}

/** Creates a mailer; the key and base URL are passed in (config is read once by the caller). */
export function createMailer(options: { apiKey: string; baseUrl?: string; userAgent?: string }): Mailer {
  if (!options.apiKey) throw new Error('createMailer: apiKey is required (RESEND_API_KEY)');
  const baseUrl = options.baseUrl?.replace(/\/+$/, '') || undefined;
  const client = new Resend(options.apiKey, { baseUrl, userAgent: options.userAgent });

  return {
    async send(message, { idempotencyKey } = {}) {
      const { data, error, headers } = await client.emails.send(toApi(message), { idempotencyKey });
      if (error) throw toMailError(error, headers);
      return { id: data.id };
    },

    async sendBatch(messages, { idempotencyKey, validation = 'strict' } = {}) {
      if (messages.length === 0) return { ids: [], errors: [] };
      if (messages.length > 100) {
        throw new PermanentError('resend batch: at most 100 emails per request', { count: messages.length });
      }
      const { data, error, headers } = await client.batch.send(messages.map(toApi), {
        idempotencyKey,
        batchValidation: validation,
      });
      if (error) throw toMailError(error, headers);
      const errors = ((data as { errors?: { index: number; message: string }[] }).errors ?? [])
        .map((e) => ({
          index: e.index,
          error: new PermanentError(e.message, {
            provider: 'resend',
            status: 422,
            name: 'validation_error',
            index: e.index,
          }),
        }));
      const rejected = new Set(errors.map((e) => e.index));
      const returned = data.data.map((d) => d.id);
      const ids = messages.map((_m, i) => (rejected.has(i) ? null : returned.shift() ?? null));
      return { ids, errors };
    },
  };
}
