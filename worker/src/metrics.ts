// Prometheus text exposition (format 0.0.4), by hand: a few counters, one histogram, gauges.

export const DURATION_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];

export class Metrics {
  created = 0; // exports this worker started (claimed and marked processing)
  completed = 0;
  failed = 0; // final failures
  retried = 0;
  private readonly buckets = new Array<number>(DURATION_BUCKETS.length).fill(0);
  private sum = 0;
  private count = 0;

  observeDuration(seconds: number) {
    this.sum += seconds;
    this.count++;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.buckets[i]++;
    });
  }

  /** The exposition text; gauges are passed in (read at scrape time). */
  render(gauges: { queueDepth: number | null; activeRenders: number }): string {
    const out: string[] = [];
    const counter = (name: string, help: string, v: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${v}`);
    counter('export_jobs_created_total', 'Exports this worker started rendering.', this.created);
    counter('export_jobs_completed_total', 'Exports completed.', this.completed);
    counter('export_jobs_failed_total', 'Exports failed for good (no retry left).', this.failed);
    counter('export_jobs_retried_total', 'Export attempts that failed and were scheduled again.', this.retried);
    out.push('# HELP export_job_duration_seconds Time from claim to completion of an export.', '# TYPE export_job_duration_seconds histogram');
    DURATION_BUCKETS.forEach((le, i) => out.push(`export_job_duration_seconds_bucket{le="${le}"} ${this.buckets[i]}`));
    out.push(`export_job_duration_seconds_bucket{le="+Inf"} ${this.count}`);
    out.push(`export_job_duration_seconds_sum ${Number(this.sum.toFixed(6))}`, `export_job_duration_seconds_count ${this.count}`);
    out.push('# HELP export_queue_depth Export jobs waiting (queued and delayed).', '# TYPE export_queue_depth gauge');
    if (gauges.queueDepth !== null) out.push(`export_queue_depth ${gauges.queueDepth}`);
    out.push('# HELP export_active_renders Pages rendering right now.', '# TYPE export_active_renders gauge', `export_active_renders ${gauges.activeRenders}`);
    return out.join('\n') + '\n';
  }
}
