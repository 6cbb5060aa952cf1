-- =====================================================================================
-- Dispatch routes: which edge function works which queue.
--
--   select jobs.route('email', 'process-email-queue', '{"cron":"* * * * *","min_priority":50}');
--
-- registers pg_cron job `jobs:invoke:queue:<queue>` that invokes the function on its cadence
-- (the function claims, works within its time budget, returns), and makes an enqueue of a
-- runnable job (priority >= min_priority; null = never) invoke the function at once after
-- commit. Debounced: at most one such call per function in flight (until the function reports
-- jobs.dispatch_done, until pg_net records its response, or debounce_ms at most), so a burst of
-- enqueues makes one call; jobs that
-- arrive during the call mark it pending and the call keeps working, so none waits for cron.
--
-- The wake-up is a statement-level AFTER INSERT trigger on jobs.job with a transition table:
-- one execution per INSERT statement (enqueue_many of 20,000 rows runs it once), and it returns
-- at once when no route asks for immediate dispatch (measured: docs/sql-api.md#dispatch).
-- =====================================================================================

create table jobs.dispatch_route (
  queue text primary key,
  function_name text not null,
  cron text not null default '* * * * *',
  min_priority int,                              -- null: only the cron cadence invokes
  debounce_ms int not null default 60000,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint dispatch_route_function_name_format check (function_name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint dispatch_route_debounce_ms_range check (debounce_ms between 100 and 600000)
);
alter table jobs.dispatch_route enable row level security;
comment on table jobs.dispatch_route is 'Which edge function works a queue, on which cadence, and whether enqueue invokes it at once.';

-- In-flight state per function (not per queue: several queues may share a function).
--   in_flight_since  set when the trigger invokes; cleared by jobs.dispatch_done; a call that
--                    never reports back stops counting as in flight after debounce_ms
--   pending          an urgent job arrived while the call was in flight: the function keeps
--                    working (or is invoked again) instead of leaving the job for the cron tick
create table jobs.dispatch_state (
  function_name text primary key,
  dispatch_id bigint,
  in_flight_since timestamptz,
  pending boolean not null default false,
  last_request_id bigint
);
alter table jobs.dispatch_state enable row level security;
comment on table jobs.dispatch_state is 'Immediate-invoke state per function, for debouncing without lost wake-ups.';

create sequence jobs.dispatch_id_seq;

create function jobs.route(queue text, function_name text, options jsonb default '{}')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_queue text := $1;
  v_fn text := $2;
  v_opts jsonb := coalesce($3, '{}'::jsonb);
  v_cron text;
  v_min int;
  v_debounce int;
  v_row jobs.dispatch_route;
begin
  perform jobs._check_keys(v_opts, array['cron', 'min_priority', 'debounce_ms'], 'route option');
  if v_fn is null or v_fn !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
    raise exception 'function_name % is not a valid edge function name', coalesce(quote_literal(v_fn), 'null')
      using errcode = 'CV002', hint = 'function_name';
  end if;
  perform jobs._ensure_queue(v_queue);
  v_cron := coalesce(jobs._opt_text(v_opts, 'cron', 100), '* * * * *');
  v_min := jobs._opt_int(v_opts, 'min_priority', -2147483648, 2147483647);
  v_debounce := coalesce(jobs._opt_int(v_opts, 'debounce_ms', 100, 600000), 60000);

  insert into jobs.dispatch_route as r (queue, function_name, cron, min_priority, debounce_ms)
  values (v_queue, v_fn, v_cron, v_min, v_debounce)
  on conflict on constraint dispatch_route_pkey do update
    set function_name = excluded.function_name, cron = excluded.cron, min_priority = excluded.min_priority,
        debounce_ms = excluded.debounce_ms, updated_at = now()
  returning * into v_row;

  perform jobs.schedule_invoke('queue:' || lower(regexp_replace(v_queue, '[^A-Za-z0-9_.:-]', '-', 'g')), v_cron, v_fn,
                               jsonb_build_object('queue', v_queue, 'reason', 'cron'));
  return to_jsonb(v_row);
end
$$;
comment on function jobs.route(text, text, jsonb) is
  'Route a queue to an edge function: pg_cron invokes it on options.cron (default every minute) and, when options.min_priority is set, an enqueue of a runnable job with priority >= min_priority invokes it at once (one call in flight per function: until it reports jobs.dispatch_done or pg_net records its response, at most options.debounce_ms, default 60 s). Replaces an existing route.';

create function jobs.unroute(queue text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  delete from jobs.dispatch_route r where r.queue = $1;
  if not found then
    return false;
  end if;
  perform jobs.unschedule_invoke('queue:' || lower(regexp_replace($1, '[^A-Za-z0-9_.:-]', '-', 'g')));
  return true;
end
$$;
comment on function jobs.unroute(text) is 'Remove a queue''s route and its pg_cron job; false if there was none.';

-- Invokes the route's function now unless a call to it is in flight; then marks it pending,
-- so the running call keeps going (jobs.dispatch_done) rather than the job waiting for cron.
-- The state row stays locked until the enqueuing transaction ends, so dispatch_done sees the
-- pending mark only once the job is committed. (Internal.)
create function jobs._dispatch_now(p_queue text) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_route jobs.dispatch_route;
  v_state jobs.dispatch_state;
  v_dispatch bigint;
  v_id bigint;
begin
  select * into v_route from jobs.dispatch_route r where r.queue = p_queue;
  if not found then
    return null;
  end if;
  insert into jobs.dispatch_state (function_name) values (v_route.function_name) on conflict do nothing;
  -- skip locked: whoever holds the row is invoking this function or marking it pending
  select * into v_state from jobs.dispatch_state s where s.function_name = v_route.function_name for update skip locked;
  if not found then
    return null;
  end if;
  -- in flight: invoked within debounce_ms and pg_net has no response for the call yet (a call
  -- that crashed or timed out has one, so the next urgent job invokes again at once)
  if v_state.in_flight_since is not null
     and v_state.in_flight_since > now() - make_interval(secs => v_route.debounce_ms / 1000.0)
     and not exists (select 1 from net._http_response r where r.id = v_state.last_request_id) then
    if not v_state.pending then
      update jobs.dispatch_state s set pending = true where s.function_name = v_route.function_name;
    end if;
    return null;
  end if;
  v_dispatch := nextval('jobs.dispatch_id_seq');
  v_id := jobs.invoke(v_route.function_name,
                      jsonb_build_object('queue', p_queue, 'reason', 'enqueue', 'dispatch_id', v_dispatch));
  update jobs.dispatch_state s
     set dispatch_id = v_dispatch, in_flight_since = now(), pending = false, last_request_id = v_id
   where s.function_name = v_route.function_name;
  return v_id;
end
$$;

-- Called by a function invoked with a dispatch_id when it has drained its queue. Returns true
-- when urgent jobs arrived meanwhile and can_continue (the function should keep working);
-- otherwise ends the in-flight call, invoking the function afresh if jobs are pending.
create function jobs.dispatch_done(function_name text, dispatch_id bigint, queue text, can_continue boolean default true)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_state jobs.dispatch_state;
begin
  select * into v_state from jobs.dispatch_state s
   where s.function_name = $1 and s.dispatch_id = $2 for update;
  if not found then
    return false;   -- a newer call took over
  end if;
  if v_state.pending and can_continue then
    update jobs.dispatch_state s set pending = false, in_flight_since = now() where s.function_name = $1;
    return true;
  end if;
  update jobs.dispatch_state s set pending = false, in_flight_since = null where s.function_name = $1;
  if v_state.pending then
    perform jobs._dispatch_now($3);
  end if;
  return false;
end
$$;
comment on function jobs.dispatch_done(text, bigint, text, boolean) is
  'For edge functions invoked on enqueue: report that the queue is drained. True means urgent jobs arrived during the call: keep working. Without can_continue (budget spent) a pending call is re-invoked.';

-- Public face of _dispatch_now, for service code: "make the queue's function run now".
create function jobs.dispatch(queue text) returns bigint
language sql
security definer
set search_path = ''
as $$ select jobs._dispatch_now($1) $$;
comment on function jobs.dispatch(text) is
  'Invoke the edge function routed to queue now, unless a call to it is already in flight (then mark it pending). Returns the pg_net request id, or null. For a function that ran out of budget with work left.';

create function jobs.tg_job__dispatch() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_queue text;
begin
  -- fast path: nothing is routed for immediate dispatch
  if not exists (select 1 from jobs.dispatch_route r where r.min_priority is not null) then
    return null;
  end if;
  for v_queue in
    select distinct n.queue
      from new_jobs n
      join jobs.dispatch_route r on r.queue = n.queue
     where r.min_priority is not null and n.priority >= r.min_priority and n.run_at <= now()
       and n.state = 'queued'
  loop
    perform jobs._dispatch_now(v_queue);
  end loop;
  return null;
end
$$;

create trigger job_dispatch after insert on jobs.job
  referencing new table as new_jobs
  for each statement execute function jobs.tg_job__dispatch();

revoke all on function jobs.route(text, text, jsonb) from public, anon, authenticated;
revoke all on function jobs.unroute(text) from public, anon, authenticated;
revoke all on function jobs._dispatch_now(text) from public, anon, authenticated;
revoke all on function jobs.dispatch(text) from public, anon, authenticated;
grant execute on function jobs.dispatch(text) to service_role;
revoke all on function jobs.dispatch_done(text, bigint, text, boolean) from public, anon, authenticated;
grant execute on function jobs.dispatch_done(text, bigint, text, boolean) to service_role;
revoke all on function jobs.tg_job__dispatch() from public, anon, authenticated;
grant execute on function jobs.route(text, text, jsonb) to service_role;
grant execute on function jobs.unroute(text) to service_role;
revoke all on jobs.dispatch_route, jobs.dispatch_state from anon, authenticated;
