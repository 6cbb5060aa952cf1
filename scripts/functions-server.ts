// LOCAL ONLY: serves every edge function declared in supabase/config.toml from one Deno process,
// the way Supabase's edge runtime serves them: `POST /<name>[/...]`, `Authorization: Bearer <JWT>`
// verified (HS256, the project's JWT secret) when the function's verify_jwt is true.
// Each function's module calls `Deno.serve(handler)` at import, exactly as deployed; this server
// captures that handler instead of opening a port per function.
//
// Env: FUNCTIONS_PORT (default 54331), SUPABASE_JWT_SECRET, plus what functions read
// (SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, SUPABASE_DB_URL, ...).
import { parse as parseToml } from 'smol-toml';

type Handler = (req: Request, info?: unknown) => Response | Promise<Response>;
interface FunctionEntry {
  name: string;
  verifyJwt: boolean;
  handler: Handler;
}

const root = new URL('..', import.meta.url);
const log = (event: string, fields: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ ts: new Date().toISOString(), fn: 'functions-server', event, ...fields }));

async function loadFunctions(): Promise<Map<string, FunctionEntry>> {
  const configUrl = new URL('supabase/config.toml', root);
  const config = parseToml(await Deno.readTextFile(configUrl)) as {
    functions?: Record<string, { enabled?: boolean; verify_jwt?: boolean; entrypoint?: string }>;
  };
  const entries = new Map<string, FunctionEntry>();
  const realServe = Deno.serve;
  for (const [name, fn] of Object.entries(config.functions ?? {})) {
    if (fn.enabled === false) continue;
    const entry = new URL(fn.entrypoint ?? `functions/${name}/index.ts`, new URL('supabase/', root));
    let captured: Handler | undefined;
    // deno-lint-ignore no-explicit-any
    (Deno as any).serve = (...args: any[]) => {
      captured = args.find((a) => typeof a === 'function') ?? args.find((a) => a?.handler)?.handler;
      return { finished: Promise.resolve(), shutdown: async () => {}, ref() {}, unref() {}, addr: null };
    };
    try {
      await import(entry.href);
    } finally {
      // deno-lint-ignore no-explicit-any
      (Deno as any).serve = realServe;
    }
    if (!captured) throw new Error(`function ${name} (${entry.pathname}) did not call Deno.serve(handler)`);
    entries.set(name, { name, verifyJwt: fn.verify_jwt !== false, handler: captured });
  }
  return entries;
}

function b64urlDecode(s: string): Uint8Array<ArrayBuffer> {
  const pad = s.length % 4 === 0 ? '' : '='.repeat(4 - (s.length % 4));
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + pad);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Verifies an HS256 JWT the way Supabase's verify_jwt does; returns its claims or an error text. */
export async function verifyJwt(token: string, secret: string): Promise<{ claims?: Record<string, unknown>; error?: string }> {
  const parts = token.split('.');
  if (parts.length !== 3) return { error: 'Invalid JWT' };
  let header: { alg?: string };
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[0])));
    claims = JSON.parse(new TextDecoder().decode(b64urlDecode(parts[1])));
  } catch {
    return { error: 'Invalid JWT' };
  }
  if (header.alg !== 'HS256') return { error: 'Invalid JWT' };
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ]);
  const ok = await crypto.subtle.verify('HMAC', key, b64urlDecode(parts[2]), new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
  if (!ok) return { error: 'Invalid JWT' };
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return { error: 'JWT has expired' };
  return { claims };
}

export async function handle(functions: Map<string, FunctionEntry>, secret: string, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const name = url.pathname.split('/').filter(Boolean)[0] ?? '';
  const fn = functions.get(name);
  if (!fn) {
    return Response.json({ code: 'NOT_FOUND', message: 'Requested function was not found' }, { status: 404 });
  }
  if (fn.verifyJwt && req.method !== 'OPTIONS') {
    const auth = req.headers.get('authorization') ?? '';
    const token = auth.match(/^Bearer\s+(.+)$/i)?.[1];
    if (!token) {
      return Response.json({ code: 'UNAUTHORIZED_NO_AUTH_HEADER', message: 'Missing authorization header' }, { status: 401 });
    }
    const { error } = await verifyJwt(token, secret);
    if (error) return Response.json({ code: 'UNAUTHORIZED_INVALID_JWT_FORMAT', message: error }, { status: 401 });
  }
  const started = performance.now();
  try {
    const res = await fn.handler(req);
    log('invoke', { function: name, status: res.status, ms: Math.round(performance.now() - started) });
    return res;
  } catch (err) {
    log('error', { function: name, message: err instanceof Error ? err.message : String(err) });
    return Response.json({ code: 'WORKER_ERROR', message: 'function threw an uncaught error' }, { status: 500 });
  }
}

if (import.meta.main) {
  const secret = Deno.env.get('SUPABASE_JWT_SECRET');
  if (!secret) throw new Error('SUPABASE_JWT_SECRET is not set');
  const port = Number(Deno.env.get('FUNCTIONS_PORT') ?? 54331);
  const functions = await loadFunctions();
  Deno.serve({ hostname: '127.0.0.1', port, onListen: () => log('listening', { port, functions: [...functions.keys()] }) }, (req) =>
    handle(functions, secret, req));
}
