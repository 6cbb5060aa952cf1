// Where rendered files go. One interface, two stores: the local filesystem (default; links are
// HMAC-signed URLs served by this worker's /files route) and Supabase Storage (production).
// put() is idempotent: the same path is overwritten, so a job rendered twice yields one file.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { ExportError } from './errors.ts';

export interface Storage {
  readonly kind: 'local' | 'supabase';
  put(filePath: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** A link to the file valid for ttlSeconds. */
  url(filePath: string, ttlSeconds: number): Promise<string>;
  delete(filePath: string): Promise<void>;
  /** Throws when the store is unreachable. */
  check(): Promise<void>;
}

/** `<org>/<export id>.<ext>`: both parts are uuids, so no path tricks. */
export function exportPath(orgId: string, exportId: string, ext: string): string {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (!uuid.test(orgId) || !uuid.test(exportId) || !/^(pdf|png)$/.test(ext)) {
    throw new ExportError(`invalid export path parts ${orgId}/${exportId}.${ext}`, 'validation');
  }
  return `${orgId}/${exportId}.${ext}`;
}

export class LocalStorage implements Storage {
  readonly kind = 'local' as const;
  readonly dir: string;
  private readonly secret: Buffer;
  constructor(dir: string, private readonly publicUrl: string, secret?: string) {
    this.dir = path.resolve(dir);
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  resolve(filePath: string): string {
    const full = path.resolve(this.dir, filePath);
    if (!full.startsWith(this.dir + path.sep)) throw new ExportError(`path escapes the storage dir: ${filePath}`, 'validation');
    return full;
  }

  async put(filePath: string, bytes: Uint8Array, _contentType: string): Promise<void> {
    const full = this.resolve(filePath);
    await fs.mkdir(path.dirname(full), { recursive: true });
    const tmp = `${full}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, full); // atomic: readers see the old file or the new one, never half
  }

  private sign(filePath: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`${filePath}\n${exp}`).digest('base64url');
  }

  async url(filePath: string, ttlSeconds: number): Promise<string> {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    return `${this.publicUrl.replace(/\/$/, '')}/files/${filePath}?exp=${exp}&sig=${this.sign(filePath, exp)}`;
  }

  /** Checks a signed link's path, expiry and signature. */
  verify(filePath: string, exp: string | null, sig: string | null): boolean {
    if (!exp || !sig || !/^\d+$/.test(exp) || Number(exp) < Date.now() / 1000) return false;
    const want = Buffer.from(this.sign(filePath, Number(exp)));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  async delete(filePath: string): Promise<void> {
    await fs.rm(this.resolve(filePath), { force: true });
  }

  async check(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    await fs.access(this.dir, fs.constants.W_OK);
  }
}

export class SupabaseStorage implements Storage {
  readonly kind = 'supabase' as const;
  private readonly client: SupabaseClient;
  constructor(url: string, serviceRoleKey: string, private readonly bucket: string) {
    this.client = createClient(url, serviceRoleKey, { auth: { persistSession: false, autoRefreshToken: false } });
  }
  async put(filePath: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const { error } = await this.client.storage.from(this.bucket).upload(filePath, bytes, { upsert: true, contentType });
    if (error) throw new ExportError(`storage upload failed: ${error.message}`, 'transient', error);
  }
  async url(filePath: string, ttlSeconds: number): Promise<string> {
    const { data, error } = await this.client.storage.from(this.bucket).createSignedUrl(filePath, ttlSeconds);
    if (error || !data) throw new ExportError(`storage signed URL failed: ${error?.message}`, 'transient', error);
    return data.signedUrl;
  }
  async delete(filePath: string): Promise<void> {
    const { error } = await this.client.storage.from(this.bucket).remove([filePath]);
    if (error) throw new ExportError(`storage delete failed: ${error.message}`, 'transient', error);
  }
  async check(): Promise<void> {
    const { error } = await this.client.storage.from(this.bucket).list('', { limit: 1 });
    if (error) throw new ExportError(`storage unreachable: ${error.message}`, 'transient', error);
  }
}

/**
 * Circuit breaker: after `threshold` consecutive failures the circuit opens and calls fail fast
 * (transient: the job retries with backoff) for `cooldownMs`; then one trial call decides.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private trial = false;
  constructor(private readonly threshold = 5, private readonly cooldownMs = 60_000, private readonly now = () => Date.now()) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.failures < this.threshold) return 'closed';
    return this.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.trial)) {
      throw new ExportError('storage circuit is open after repeated failures; retrying later', 'transient');
    }
    if (state === 'half-open') this.trial = true;
    try {
      const r = await fn();
      this.failures = 0;
      return r;
    } catch (err) {
      this.failures++;
      if (this.failures >= this.threshold) this.openedAt = this.now();
      throw err;
    } finally {
      if (state === 'half-open') this.trial = false;
    }
  }
}

/** A Storage whose calls go through a circuit breaker. */
export class GuardedStorage implements Storage {
  constructor(readonly inner: Storage, readonly breaker = new CircuitBreaker()) {}
  get kind() {
    return this.inner.kind;
  }
  put(p: string, b: Uint8Array, t: string) {
    return this.breaker.call(() => this.inner.put(p, b, t));
  }
  url(p: string, ttl: number) {
    return this.breaker.call(() => this.inner.url(p, ttl));
  }
  delete(p: string) {
    return this.breaker.call(() => this.inner.delete(p));
  }
  check() {
    return this.inner.check();
  }
}
