-- =====================================================================================
-- pg_cron: repeatable jobs (jobs.schedule / jobs.unschedule), retention (jobs.prune) and
-- the maintenance schedules jobs:rescue-stale (every minute) and jobs:prune (every 5 min).
-- cron job names: `jobs:<task>` for maintenance, `jobs:schedule:<name>` for user schedules.
-- =====================================================================================

create extension if not exists pg_cron;

create table jobs.schedule (
  name text primary key,
  cron text not null,
  queue text not null,
  payload jsonb not null default '{}'::jsonb,
  options jsonb not null default '{}'::jsonb,
  cron_job_id bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint schedule_name_format check (name ~ '^[A-Za-z0-9_.:-]{1,100}$')
);
alter table jobs.schedule enable row level security;
comment on table jobs.schedule is 'Repeatable jobs; each row has a pg_cron job named jobs:schedule:<name>.';

-- What a schedule's cron job runs: enqueue from the stored definition.
create function jobs._run_schedule(p_name text) returns bigint
language plpgsql
as $$
declare
  v jobs.schedule;
begin
  select * into v from jobs.schedule s where s.name = p_name;
  if not found then
    return null;
  end if;
  return jobs.enqueue(v.queue, v.payload, v.options);
end
$$;

create function jobs.schedule(name text, cron text, queue text, payload jsonb default '{}', options jsonb default '{}')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_name text := $1;
  v_cron text := $2;
  v_job bigint;
begin
  if v_name is null or v_name !~ '^[A-Za-z0-9_.:-]{1,100}$' then
    raise exception 'schedule name must match ^[A-Za-z0-9_.:-]{1,100}$, got "%"', v_name
      using errcode = 'CV002', hint = 'name';
  end if;
  -- validates the options now, not at the first run
  perform jobs._parse_enqueue_options(coalesce($5, '{}'::jsonb), jobs._ensure_queue($3));
  begin
    v_job := cron.schedule('jobs:schedule:' || v_name, v_cron,
                           format('select jobs._run_schedule(%L)', v_name));
  exception when others then
    if v_cron ~* '^\s*[0-9]+\s*seconds?\s*$' then
      raise exception 'sub-minute schedule "%" needs pg_cron >= 1.5 (installed: %): %', v_cron,
        (select e.extversion from pg_catalog.pg_extension e where e.extname = 'pg_cron'), sqlerrm
        using errcode = 'CV020', hint = 'cron';
    end if;
    raise exception 'invalid cron schedule "%": %', v_cron, sqlerrm using errcode = 'CV021', hint = 'cron';
  end;
  insert into jobs.schedule (name, cron, queue, payload, options, cron_job_id)
  values (v_name, v_cron, $3, coalesce($4, '{}'::jsonb), coalesce($5, '{}'::jsonb), v_job)
  on conflict on constraint schedule_pkey do update
    set cron = excluded.cron, queue = excluded.queue, payload = excluded.payload,
        options = excluded.options, cron_job_id = excluded.cron_job_id, updated_at = now();
  return v_job;
end
$$;
comment on function jobs.schedule(text, text, text, jsonb, jsonb) is
  'Create or replace (by name) a repeatable job: pg_cron job jobs:schedule:<name> enqueues (queue, payload, options) on the cron schedule. Sub-minute "N seconds" needs pg_cron >= 1.5 (CV020). Returns the pg_cron job id.';

create function jobs.unschedule(name text) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_found boolean;
begin
  if exists (select 1 from cron.job j where j.jobname = 'jobs:schedule:' || $1) then
    perform cron.unschedule('jobs:schedule:' || $1);
  end if;
  delete from jobs.schedule s where s.name = $1;
  v_found := found;
  return v_found;
end
$$;
comment on function jobs.unschedule(text) is 'Remove a repeatable job and its pg_cron job. Returns false when no schedule had that name.';

-- Retention: deletes finished jobs past their queue's retention, in batches of p_batch
-- rows (at most p_max_batches per call). Touches only jobs.job_done and jobs.event, never
-- the hot table, so claims and completions are never blocked.
create function jobs.prune(p_batch int default 5000, p_max_batches int default 20) returns int
language plpgsql
as $$
declare
  v_total int := 0;
  v_n int;
  v_i int := 0;
  v_min_ms bigint;
begin
  select least(min(q.retain_completed_ms), min(q.retain_failed_ms)) into v_min_ms from jobs.queue q;
  if v_min_ms is null then
    return 0;
  end if;
  loop
    v_i := v_i + 1;
    delete from jobs.job_done d
     where d.id in (
       select d2.id from jobs.job_done d2 join jobs.queue q on q.name = d2.queue
        where d2.finished_at < now() - make_interval(secs => v_min_ms / 1000.0)
          and d2.finished_at < now() - make_interval(secs => (case when d2.state = 'completed'
                                                                    then q.retain_completed_ms
                                                                    else q.retain_failed_ms end) / 1000.0)
        limit p_batch
        for update of d2 skip locked);
    get diagnostics v_n = row_count;
    v_total := v_total + v_n;
    exit when v_n < p_batch or v_i >= p_max_batches;
  end loop;
  -- events live as long as the longest failed-job retention
  delete from jobs.event e
   where e.id in (
     select e2.id from jobs.event e2
      where e2.at < now() - make_interval(secs => (select max(q.retain_failed_ms) from jobs.queue q) / 1000.0)
      limit p_batch * p_max_batches);
  return v_total;
end
$$;
comment on function jobs.prune(int, int) is
  'Delete finished jobs past their queue retention (completed: retention.completed_ms, failed/cancelled: retention.failed_ms) in batches; scheduled every 5 minutes as jobs:prune. Returns how many jobs were deleted.';

revoke all on function jobs._run_schedule(text), jobs.schedule(text, text, text, jsonb, jsonb),
  jobs.unschedule(text), jobs.prune(int, int) from public, anon, authenticated;
grant execute on function jobs._run_schedule(text), jobs.schedule(text, text, text, jsonb, jsonb),
  jobs.unschedule(text), jobs.prune(int, int) to service_role;
revoke all on jobs.schedule from anon, authenticated;
grant select, insert, update, delete on jobs.schedule to service_role;

-- maintenance schedules; cron.schedule with an existing name replaces it (idempotent)
select cron.schedule('jobs:rescue-stale', '* * * * *', 'select jobs.rescue_stale()');
select cron.schedule('jobs:prune', '*/5 * * * *', 'select jobs.prune()');
