import type { Sql } from './db.ts';

/** Records one run of a service in public.service_heartbeats and returns its id. */
export async function recordHeartbeat(
  sql: Sql,
  service: string,
  opts: { source?: string; detail?: Record<string, unknown> } = {},
): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    insert into public.service_heartbeats (service, source, detail)
    values (${service}, ${opts.source ?? 'unknown'}, ${sql.json((opts.detail ?? {}) as never)})
    returning id`;
  return Number(row.id);
}
