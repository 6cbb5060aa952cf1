-- jobs.next_run_at: when the next queued job of a queue becomes runnable (null: none queued).
-- Lets an edge function that drained a queue wait a few seconds for a retry that is due soon
-- (an upstream 429 with Retry-After) instead of leaving it for the next cron tick.

create or replace function jobs.next_run_at(queue text)
returns timestamptz
language sql
stable
as $$
  -- called when a worker found nothing runnable, so the queued rows are the delayed ones
  select min(j.run_at) from jobs.job j where j.queue = $1 and j.state = 'queued'
$$;

comment on function jobs.next_run_at(text) is
  'The earliest run_at among the queue''s queued jobs (null when none is queued). Service role only.';

revoke all on function jobs.next_run_at(text) from public, anon, authenticated;
grant execute on function jobs.next_run_at(text) to service_role;
