// Svix webhook signatures, as Resend sends them: `svix-signature: v1,<base64 HMAC-SHA256 of
// "${svix-id}.${svix-timestamp}.${raw body}">` (several space-separated while a secret rotates), keyed
// with the base64 part of a `whsec_...` secret. Web Crypto only, so it runs in Deno and Node alike.
// Verification does not remember ids: the caller dedupes deliveries by `svix-id` to make replays inert.

export type SvixErrorCode =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_out_of_tolerance'
  | 'invalid_signature'
  | 'invalid_secret';

export class SvixVerificationError extends Error {
  override name = 'SvixVerificationError';
  constructor(readonly code: SvixErrorCode, message: string) {
    super(message);
  }
}

export type HeaderSource = Headers | Record<string, string | null | undefined>;

export interface VerifyOptions {
  /** Accepted clock skew either way, in seconds (default 300, as Svix). */
  toleranceSec?: number;
  /** Current time in ms, for tests. */
  now?: number;
}

const encoder = new TextEncoder();

function secretBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  try {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    if (bytes.length === 0) throw new Error('empty');
    return bytes;
  } catch {
    throw new SvixVerificationError('invalid_secret', 'webhook secret must be "whsec_" followed by base64');
  }
}

async function hmac(secret: string, id: string, timestamp: string, body: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    'raw',
    secretBytes(secret) as BufferSource,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`${id}.${timestamp}.${body}`)));
}

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

function fromBase64(b64: string): Uint8Array | null {
  try {
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Compares in time independent of where the bytes differ (lengths are not secret). */
function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function header(headers: HeaderSource, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v ?? null;
  return null;
}

/** The `svix-signature` value (`v1,<base64>`) for a delivery; used by tests and the local fake. */
export async function signSvix(
  secret: string,
  id: string,
  timestamp: number | string,
  body: string,
): Promise<string> {
  return `v1,${toBase64(await hmac(secret, id, String(timestamp), body))}`;
}

/**
 * Verifies a delivery against its raw body (the exact bytes received, not re-serialised JSON).
 * Resolves to the delivery's id and timestamp; throws SvixVerificationError with a `code` otherwise.
 */
export async function verifySvix(
  secret: string,
  request: { body: string; headers: HeaderSource },
  options: VerifyOptions = {},
): Promise<{ id: string; timestamp: number }> {
  const id = header(request.headers, 'svix-id');
  const ts = header(request.headers, 'svix-timestamp');
  const signatures = header(request.headers, 'svix-signature');
  if (!id || !ts || !signatures) {
    throw new SvixVerificationError(
      'missing_headers',
      'svix-id, svix-timestamp and svix-signature headers are required',
    );
  }
  if (!/^\d{1,12}$/.test(ts)) {
    throw new SvixVerificationError('invalid_timestamp', 'svix-timestamp is not a unix time in seconds');
  }
  const timestamp = Number(ts);
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(nowSec - timestamp) > (options.toleranceSec ?? 300)) {
    throw new SvixVerificationError(
      'timestamp_out_of_tolerance',
      'svix-timestamp is outside the accepted window',
    );
  }
  const expected = await hmac(secret, id, ts, request.body);
  let ok = false;
  for (const part of signatures.split(' ')) {
    const [version, b64] = part.split(',', 2);
    if (version !== 'v1' || !b64) continue;
    const candidate = fromBase64(b64);
    if (candidate && timingSafeEqual(candidate, expected)) ok = true; // no early exit
  }
  if (!ok) throw new SvixVerificationError('invalid_signature', 'no svix-signature matches the payload');
  return { id, timestamp };
}
