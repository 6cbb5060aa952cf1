// What an end-to-end test needs to reach the running local stack (started by `npm test`).
import postgres from 'postgres';
import ws from 'ws';
import { createClient, type SupabaseClientOptions } from '@supabase/supabase-js';
// @ts-ignore: plain ESM module without types
import * as stack from '../../../scripts/lib/stack.mjs';

export const cfg = stack.config() as {
  dbUrl: string;
  apiUrl: string;
  functionsUrl: string;
  restUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
};

export const userJwt = stack.userJwt as (userId: string, opts?: { email?: string; expiresIn?: number; secret?: string }) => string;

export function connect(max = 4) {
  return postgres(cfg.dbUrl, { max, onnotice: () => {} });
}

/** Polls `check` until it returns a truthy value; fails with `what` after timeoutMs. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 10000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function nonce(prefix = 't') {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A supabase-js client for the local gateway (Node 20 has no global WebSocket: pass `ws`). */
export function supabase(key: string, opts: { accessToken?: () => Promise<string> } = {}) {
  const options: SupabaseClientOptions<'public'> = {
    auth: { persistSession: false, autoRefreshToken: false },
    // deno-lint-ignore no-explicit-any
    realtime: { transport: ws as any },
  };
  if (opts.accessToken) options.accessToken = opts.accessToken;
  return createClient(cfg.apiUrl, key, options);
}
