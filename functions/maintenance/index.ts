// maintenance: works the `maintenance` queue (housekeeping jobs scheduled on pg_cron).
import { db } from '../_shared/db.ts';
import { serveQueue } from '../_shared/jobs/edge.ts';
import { MaintenanceTask, runMaintenance } from '../_shared/maintenance.ts';

Deno.serve(serveQueue('maintenance', (job) => runMaintenance(db(), job.payload), { schema: MaintenanceTask, concurrency: 1 }));
