// Database access shared by edge functions (Deno) and the Node worker: postgres.js over
// SUPABASE_DB_URL (set by the Supabase edge runtime, and by the local function server).
import postgres from 'postgres';

export type Sql = ReturnType<typeof postgres>;

let shared: Sql | undefined;

/** One pooled connection per isolate/process, created on first use (no side effects at import). */
export function db(url?: string): Sql {
  if (shared) return shared;
  const dbUrl = url ?? readEnv('SUPABASE_DB_URL') ?? readEnv('DATABASE_URL');
  if (!dbUrl) {
    throw new Error('SUPABASE_DB_URL is not set: set it (or DATABASE_URL) to the Postgres connection string');
  }
  shared = postgres(dbUrl, { max: 4, idle_timeout: 20, onnotice: () => {} });
  return shared;
}

export function readEnv(name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno?.env) return g.Deno.env.get(name) ?? undefined;
  return g.process?.env?.[name];
}
