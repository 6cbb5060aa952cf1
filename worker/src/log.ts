// Structured JSON log lines with fixed keys (fn, queue, job_id, attempt, worker_id, export_id).
export type LogRecord = Record<string, unknown> & { level?: string; event?: string };

export function log(level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown> = {}) {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, fn: 'export.worker', event, ...fields });
  if (level === 'error') process.stderr.write(line + '\n');
  else process.stdout.write(line + '\n');
}
