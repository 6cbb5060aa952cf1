-- =====================================================================================
-- End-user enqueue: a queue may opt in (queue setting user_enqueue) to jobs enqueued by
-- signed-in users through supabase-js `rpc('enqueue_as_user', ...)` on the `jobs` schema.
--
-- The owner is forced to auth.uid(); only safe options are accepted (dedupe_key, delay_ms,
-- run_at within user_enqueue.max_delay_ms); the per-user rate limit, pending cap and payload
-- size limit are checked under a per-(queue, user) advisory lock so concurrent requests of
-- one user cannot overshoot them. Dedupe keys are namespaced per user, so one user can never
-- learn the id of another user's job.
--
-- Error codes: CV010 queue not open to users, CV011 not signed in, CV012 over the rate limit,
-- CV013 over the pending cap, CV014 payload too large, CV015 option not allowed.
-- =====================================================================================

create function jobs.enqueue_as_user(queue text, payload jsonb default '{}', options jsonb default '{}')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_queue text := $1;
  v_payload jsonb := coalesce($2, '{}'::jsonb);
  v_opts jsonb := coalesce($3, '{}'::jsonb);
  v_q jobs.queue;
  v_ue jsonb;
  v_key text;
  v_bytes int;
  v_s jobs.enqueue_spec;
  v_id bigint;
  v_n bigint;
  v_limit bigint;
  v_interval_ms bigint;
begin
  if v_uid is null or coalesce(auth.role(), '') <> 'authenticated' then
    raise exception 'enqueue_as_user requires a signed-in user (role authenticated)'
      using errcode = 'CV011', hint = 'auth';
  end if;

  select * into v_q from jobs.queue q where q.name = v_queue;
  v_ue := v_q.user_enqueue;
  if v_q.name is null or v_ue is null or not coalesce((v_ue ->> 'enabled')::boolean, false) then
    raise exception 'queue "%" does not accept jobs from users (user_enqueue is not enabled)', v_queue
      using errcode = 'CV010', hint = 'user_enqueue.enabled';
  end if;

  -- options: known but unsafe keys are refused by name; unknown keys are CV001
  if jsonb_typeof(v_opts) <> 'object' then
    raise exception 'options must be a JSON object' using errcode = 'CV002', hint = 'options';
  end if;
  select k into v_key from jsonb_object_keys(v_opts) k
   where k <> all (array['dedupe_key', 'delay_ms', 'run_at'])
     and k = any (array['priority', 'max_attempts', 'backoff', 'group_key', 'owner', 'timeout_ms'])
   limit 1;
  if v_key is not null then
    raise exception 'option "%" is not allowed for user enqueue (allowed: dedupe_key, delay_ms, run_at)', v_key
      using errcode = 'CV015', hint = v_key;
  end if;
  perform jobs._check_keys(v_opts, array['dedupe_key', 'delay_ms', 'run_at']);

  v_bytes := octet_length(v_payload::text);
  if v_bytes > (v_ue ->> 'max_payload_bytes')::int then
    raise exception 'payload is % bytes, over the limit user_enqueue.max_payload_bytes = %',
      v_bytes, v_ue ->> 'max_payload_bytes'
      using errcode = 'CV014', hint = 'user_enqueue.max_payload_bytes';
  end if;

  -- owner forced; dedupe_key namespaced per user
  if v_opts ? 'dedupe_key' and v_opts -> 'dedupe_key' <> 'null'::jsonb then
    v_key := jobs._opt_text(v_opts, 'dedupe_key', 200);
    v_opts := v_opts || jsonb_build_object('dedupe_key', v_uid::text || ':' || v_key);
  end if;
  v_s := jobs._parse_enqueue_options(v_opts || jsonb_build_object('owner', v_uid::text), v_q);
  if v_s.run_at > now() + make_interval(secs => (v_ue ->> 'max_delay_ms')::float8 / 1000.0) then
    raise exception 'run_at/delay_ms is beyond the limit user_enqueue.max_delay_ms = %', v_ue ->> 'max_delay_ms'
      using errcode = 'CV015', hint = 'user_enqueue.max_delay_ms';
  end if;
  if v_s.run_at < now() then
    v_s.run_at := now();
  end if;

  -- one user's requests on one queue are serialised (namespaced advisory key)
  perform pg_advisory_xact_lock(hashtext('jobs.enqueue_as_user'), hashtext(v_queue || '/' || v_uid::text));

  if v_s.dedupe_key is not null then
    select j.id into v_id from jobs.job j where j.queue = v_queue and j.dedupe_key = v_s.dedupe_key;
    if v_id is not null then
      return v_id;   -- same job, no new work: limits do not apply
    end if;
  end if;

  select count(*) into v_n from jobs.job j where j.owner = v_uid and j.queue = v_queue;
  if v_n >= (v_ue ->> 'max_pending')::bigint then
    raise exception 'you have % pending jobs in queue "%", the limit user_enqueue.max_pending is %',
      v_n, v_queue, v_ue ->> 'max_pending'
      using errcode = 'CV013', hint = 'user_enqueue.max_pending';
  end if;

  if v_ue -> 'rate_limit' is not null and v_ue -> 'rate_limit' <> 'null'::jsonb then
    v_limit := (v_ue #>> '{rate_limit,limit}')::bigint;
    v_interval_ms := (v_ue #>> '{rate_limit,interval_ms}')::bigint;
    select (select count(*) from jobs.job j
             where j.owner = v_uid and j.queue = v_queue
               and j.created_at > now() - make_interval(secs => v_interval_ms / 1000.0))
         + (select count(*) from jobs.job_done d
             where d.owner = v_uid and d.queue = v_queue
               and d.created_at > now() - make_interval(secs => v_interval_ms / 1000.0))
      into v_n;
    if v_n >= v_limit then
      raise exception 'rate limit exceeded: % jobs in % ms on queue "%" (user_enqueue.rate_limit = % per % ms)',
        v_n, v_interval_ms, v_queue, v_limit, v_interval_ms
        using errcode = 'CV012', hint = 'user_enqueue.rate_limit';
    end if;
  end if;

  return jobs._insert_job(v_queue, v_payload, v_s);
end
$$;
comment on function jobs.enqueue_as_user(text, jsonb, jsonb) is
  'Enqueue a job as the signed-in user (authenticated only) into a queue with user_enqueue.enabled. Owner is auth.uid(); options: dedupe_key (per user), delay_ms, run_at (within max_delay_ms). Refused over user_enqueue.rate_limit (CV012), max_pending (CV013), max_payload_bytes (CV014); anon gets CV011.';

revoke all on function jobs.enqueue_as_user(text, jsonb, jsonb) from public, anon, service_role;
grant execute on function jobs.enqueue_as_user(text, jsonb, jsonb) to authenticated;
