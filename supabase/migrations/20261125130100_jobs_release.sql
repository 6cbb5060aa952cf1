-- jobs.release: a worker hands back jobs it claimed but will not run (graceful shutdown, a
-- budget ran out in an edge function). They return to `queued` at once, the claim's attempt is
-- given back and no error is recorded: releasing is not failing.

create or replace function jobs.release(job_ids bigint[], worker_id text)
returns int
language plpgsql
as $$
declare
  v_n int;
  v_queues text[];
begin
  with u as (
    update jobs.job j
       set state = 'queued', attempts = greatest(j.attempts - 1, 0), worker_id = null,
           locked_until = null, started_at = null
     where j.id = any ($1) and j.state = 'running' and j.worker_id = $2
    returning j.queue
  )
  select count(*)::int, array_agg(distinct u.queue) into v_n, v_queues from u;
  if v_n > 0 then
    perform pg_notify('jobs.wake', q) from unnest(v_queues) q;
  end if;
  return v_n;
end
$$;

comment on function jobs.release(bigint[], text) is
  'Return jobs worker_id holds but did not run to the queue at once, without spending an attempt or recording an error. Returns how many it still held.';

revoke all on function jobs.release(bigint[], text) from public, anon, authenticated;
grant execute on function jobs.release(bigint[], text) to service_role;
