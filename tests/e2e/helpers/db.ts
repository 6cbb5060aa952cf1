// Connection helper for the end-to-end suites: one place that knows where the database is.
// DATABASE_URL wins; the default is the local stack's Postgres (scripts/lib/stack.mjs, port 54322).
import postgres from 'postgres';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres:postgres@127.0.0.1:54322/postgres';

export function databaseUrl(): string {
  return process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

export type Sql = postgres.Sql<Record<string, never>>;

export interface ConnectOptions {
  /** pool size; 1 for a worker process that must behave like one session */
  max?: number;
  /** application_name, so pg_stat_activity shows who is who */
  name?: string;
}

/** A postgres.js pool for DATABASE_URL. Quiet (no NOTICE logging); bigints come back as strings. */
export function connect(options: ConnectOptions = {}): Sql {
  return postgres(databaseUrl(), {
    max: options.max ?? 4,
    onnotice: () => {},
    idle_timeout: 0,
    connect_timeout: 10,
    connection: { application_name: options.name ?? 'conveyor-e2e' },
  }) as unknown as Sql;
}

/** A queue name nobody else uses: suites share one database. */
export function uniqueName(prefix: string): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${rand}`;
}
