// Housekeeping tasks run as jobs on the `maintenance` queue (scheduled by migrations).
import { z } from 'zod';
import type { Sql } from './db.ts';

export const MaintenanceTask = z.discriminatedUnion('task', [
  z.object({ task: z.literal('prune_heartbeats'), older_than_days: z.number().int().min(1).max(3650).default(7) }).strict(),
  z.object({ task: z.literal('prune_email_batches'), older_than_days: z.number().int().min(2).max(3650).default(2) }).strict(),
  z.object({ task: z.literal('fail_abandoned_emails'), since_hours: z.number().int().min(1).max(720).default(24) }).strict(),
]);
export type MaintenanceTask = z.infer<typeof MaintenanceTask>;

export async function runMaintenance(sql: Sql, t: MaintenanceTask): Promise<Record<string, unknown>> {
  switch (t.task) {
    case 'prune_heartbeats': {
      // batches of 5,000 so a large backlog never holds long locks
      let deleted = 0;
      for (;;) {
        const rows = await sql`
          delete from public.service_heartbeats
           where id in (select id from public.service_heartbeats
                         where created_at < now() - make_interval(days => ${t.older_than_days}) limit 5000)
          returning 1`;
        deleted += rows.length;
        if (rows.length < 5000) break;
      }
      return { task: t.task, deleted };
    }
    case 'prune_email_batches': {
      // Resend keeps idempotency keys 24 h: a stored batch older than that cannot be replayed
      const rows = await sql`
        delete from public.email_send_batches
         where created_at < now() - make_interval(days => ${t.older_than_days})
        returning 1`;
      return { task: t.task, deleted: rows.length };
    }
    case 'fail_abandoned_emails': {
      // messages whose job failed or was cancelled before an outcome was recorded
      const [r] = await sql`select public.email_fail_abandoned(make_interval(hours => ${t.since_hours})) as n`;
      return { task: t.task, failed: Number(r.n) };
    }
  }
}
