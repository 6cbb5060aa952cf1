-- =====================================================================================
-- Exports: an org's products rendered to PDF/PNG by the Node export worker (worker/).
--
--   supabase-js ──rpc──► public.request_export() ──► export_jobs row (pending)
--                                               └──► jobs.enqueue('export', {export_id})   same transaction
--   worker: jobs.claim → export_start → export_progress… → render → Storage → export_complete
--           (+ export_completed email, same transaction) | export_fail (+ export_failed email when final)
--   clients follow their rows through Realtime Postgres Changes on public.export_jobs
--   pg_cron exports:retention (daily): completed rows after 30 days, failed after 7; file paths
--           go to export_file_deletions, which the worker empties (it owns the Storage client)
--   pg_cron exports:reconcile (every 5 minutes): rows whose engine job ended without an outcome → failed
--
-- Status: pending → processing → completed | failed;  processing → pending (retry scheduled)
--
-- Tier: public.org_subscriptions(org_id, tier); an org without a row is 'free'. Limits per tier
-- live in public.export_limits and count per (user, org): exports created in the last hour, and
-- exports pending or processing.
--
-- Errors (SQLSTATE class CX; the message names the field, HINT is the field name):
--   CX001 invalid field or option         CX002 not a member of the organization
--   CX003 hourly limit reached            CX004 pending limit reached
--   CX005 no signed-in user               CX006 unknown export (worker functions)
-- =====================================================================================

-- ---------------------------------------------------------------- tables

create table public.products (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  sku text not null,
  name text not null,
  description text,
  price_cents bigint not null,
  currency text not null default 'USD',
  image_url text,
  created_at timestamptz not null default now(),
  constraint products_sku_length check (length(sku) between 1 and 100),
  constraint products_name_length check (length(name) between 1 and 300),
  constraint products_description_length check (length(description) <= 5000),
  constraint products_price_cents_nonnegative check (price_cents >= 0),
  constraint products_currency_format check (currency ~ '^[A-Z]{3}$'),
  constraint products_image_url_format check (image_url ~ '^https?://'),
  constraint products_org_id_sku_key unique (org_id, sku)
);
comment on table public.products is 'An organization''s product catalogue (what exports render). Members read, owners/admins write.';

create table public.export_limits (
  tier text primary key,
  per_hour int not null,
  max_pending int not null,
  priority int not null,
  constraint export_limits_per_hour_range check (per_hour between 0 and 100000),
  constraint export_limits_max_pending_range check (max_pending between 0 and 100000)
);
comment on table public.export_limits is 'Export limits per tier: per_hour exports created per user and org in any hour, max_pending pending or processing at once; priority of their engine jobs.';
insert into public.export_limits (tier, per_hour, max_pending, priority) values
  ('free', 10, 5, 10),
  ('subscriber', 50, 20, 100);

create table public.org_subscriptions (
  org_id uuid primary key references public.organizations (id) on delete cascade,
  tier text not null default 'free' references public.export_limits (tier),
  updated_at timestamptz not null default now()
);
comment on table public.org_subscriptions is 'An organization''s tier (billing writes it with the service role). No row = free.';

create table public.export_jobs (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references public.organizations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text not null,
  format text not null,
  options jsonb not null default '{}'::jsonb,
  status text not null default 'pending',
  progress int not null default 0,
  job_id bigint,
  file_path text,
  file_url text,
  size_bytes bigint,
  duration_ms int,
  error text,
  attempts int not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  updated_at timestamptz not null default now(),
  constraint export_jobs_kind_valid check (kind in ('product_catalogue', 'price_list')),
  constraint export_jobs_format_valid check (format in ('pdf', 'png')),
  constraint export_jobs_status_valid check (status in ('pending', 'processing', 'completed', 'failed')),
  constraint export_jobs_progress_range check (progress between 0 and 100),
  constraint export_jobs_options_object check (jsonb_typeof(options) = 'object')
);
-- limits: a user's exports in an org by age, and their open ones
create index export_jobs_user_id_org_id_created_at_idx on public.export_jobs (user_id, org_id, created_at desc);
create index export_jobs_status_completed_at_idx on public.export_jobs (status, completed_at)
  where status in ('completed', 'failed');
comment on table public.export_jobs is
  'One row per export request, user-visible (Realtime). Written by public.request_export and the service-role export_* functions.';

-- Files of deleted exports, waiting for the worker to remove them from Storage.
create table public.export_file_deletions (
  id bigint generated always as identity primary key,
  file_path text not null,
  created_at timestamptz not null default now()
);
comment on table public.export_file_deletions is 'Storage paths of exports removed by retention; the export worker deletes the files and then the rows.';

-- ---------------------------------------------------------------- RLS and grants

alter table public.products enable row level security;
alter table public.export_limits enable row level security;
alter table public.org_subscriptions enable row level security;
alter table public.export_jobs enable row level security;
alter table public.export_file_deletions enable row level security;

create policy products_select_member on public.products for select to authenticated
  using (org_id in (select public.current_user_org_ids()));
create policy products_insert_admin on public.products for insert to authenticated
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));
create policy products_update_admin on public.products for update to authenticated
  using (org_id in (select public.current_user_org_ids(array['owner', 'admin'])))
  with check (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));
create policy products_delete_admin on public.products for delete to authenticated
  using (org_id in (select public.current_user_org_ids(array['owner', 'admin'])));

create policy export_limits_select_all on public.export_limits for select to authenticated using (true);
create policy org_subscriptions_select_member on public.org_subscriptions for select to authenticated
  using (org_id in (select public.current_user_org_ids()));
-- a user sees only their own exports, and only while a member of the org
create policy export_jobs_select_own on public.export_jobs for select to authenticated
  using (user_id = (select auth.uid()) and org_id in (select public.current_user_org_ids()));

revoke all on public.products, public.export_limits, public.org_subscriptions, public.export_jobs,
  public.export_file_deletions from anon, authenticated;
grant select, insert, update, delete on public.products to authenticated;
grant select on public.export_limits, public.org_subscriptions, public.export_jobs to authenticated;
grant all on public.products, public.export_limits, public.org_subscriptions, public.export_jobs,
  public.export_file_deletions to service_role;

-- Realtime Postgres Changes: the table in the publication; full replica identity so that
-- filters and RLS checks see every column of old rows too
alter table public.export_jobs replica identity full;
alter publication supabase_realtime add table public.export_jobs;

-- ---------------------------------------------------------------- the export queue

select jobs.create_queue('export', '{
  "max_attempts": 3,
  "backoff": {"kind": "exponential", "base_ms": 5000, "max_ms": 300000},
  "lock_ms": 180000
}');

-- ---------------------------------------------------------------- request_export

create function public._export_invalid(p_field text, p_message text)
returns void
language plpgsql
as $$
begin
  raise exception '% %', p_field, p_message using errcode = 'CX001', hint = p_field;
end
$$;

-- Request an export as the signed-in user; returns the export id.
create function public.request_export(org_id uuid, kind text, format text, options jsonb default '{}')
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
  v_opts jsonb := coalesce($4, '{}'::jsonb);
  v_key text;
  v_tier text;
  v_limit public.export_limits;
  v_hour_count int;
  v_oldest timestamptz;
  v_pending int;
  v_id uuid;
  v_job bigint;
begin
  if v_uid is null then
    raise exception 'request_export needs a signed-in user (auth.uid() is null)' using errcode = 'CX005', hint = 'auth.uid';
  end if;
  if $1 is null then
    perform public._export_invalid('org_id', 'is required');
  end if;
  if $2 is null or $2 not in ('product_catalogue', 'price_list') then
    perform public._export_invalid('kind', format('must be product_catalogue or price_list, got %s', coalesce(quote_literal($2), 'null')));
  end if;
  if $3 is null or $3 not in ('pdf', 'png') then
    perform public._export_invalid('format', format('must be pdf or png, got %s', coalesce(quote_literal($3), 'null')));
  end if;
  if jsonb_typeof(v_opts) <> 'object' then
    perform public._export_invalid('options', format('must be a JSON object, got %s', jsonb_typeof(v_opts)));
  end if;
  for v_key in select jsonb_object_keys(v_opts) loop
    if v_key not in ('title') then
      perform public._export_invalid('options.' || v_key, 'is not a known option (allowed: title)');
    end if;
  end loop;
  if v_opts ? 'title' and (jsonb_typeof(v_opts -> 'title') <> 'string'
                           or length(v_opts ->> 'title') not between 1 and 200) then
    perform public._export_invalid('options.title', 'must be a string of 1..200 characters');
  end if;
  if not exists (select 1 from public.memberships m where m.user_id = v_uid and m.org_id = $1) then
    raise exception 'org_id: you are not a member of organization %', $1 using errcode = 'CX002', hint = 'org_id';
  end if;

  -- one request per user at a time, so concurrent requests cannot overshoot the limits
  -- (namespaced key: classid = hashtext('public.request_export'))
  perform pg_advisory_xact_lock(hashtext('public.request_export'), hashtext(v_uid::text));

  select coalesce((select s.tier from public.org_subscriptions s where s.org_id = $1), 'free') into v_tier;
  select * into v_limit from public.export_limits l where l.tier = v_tier;
  if not found then
    select * into v_limit from public.export_limits l where l.tier = 'free';
  end if;

  select count(*), min(e.created_at) into v_hour_count, v_oldest
    from public.export_jobs e
   where e.user_id = v_uid and e.org_id = $1 and e.created_at > now() - interval '1 hour';
  if v_hour_count >= v_limit.per_hour then
    raise exception 'export limit reached: % exports per hour on the % tier; retry after %',
        v_limit.per_hour, v_tier, to_char((v_oldest + interval '1 hour') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
      using errcode = 'CX003', hint = 'per_hour',
            detail = format('retry_after=%s', to_char((v_oldest + interval '1 hour') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
  end if;
  select count(*) into v_pending
    from public.export_jobs e
   where e.user_id = v_uid and e.org_id = $1 and e.status in ('pending', 'processing');
  if v_pending >= v_limit.max_pending then
    raise exception 'export limit reached: % pending exports on the % tier; retry when one of them finishes',
        v_limit.max_pending, v_tier
      using errcode = 'CX004', hint = 'max_pending';
  end if;

  insert into public.export_jobs (org_id, user_id, kind, format, options)
  values ($1, v_uid, $2, $3, v_opts)
  returning id into v_id;
  v_job := jobs.enqueue('export', jsonb_build_object('export_id', v_id), jsonb_build_object(
    'priority', v_limit.priority,
    'owner', v_uid,
    'group_key', $1::text,
    'max_attempts', 3,
    'timeout_ms', 180000));
  update public.export_jobs e set job_id = v_job where e.id = v_id;
  return v_id;
end
$$;
comment on function public.request_export(uuid, text, text, jsonb) is
  'Request an export (kind product_catalogue|price_list, format pdf|png, options {title}) of org_id as the signed-in user; returns the export id. Enforces public.export_limits for the org''s tier. Errors: CX001 invalid field, CX002 not a member, CX003 hourly limit, CX004 pending limit, CX005 not signed in.';

-- ---------------------------------------------------------------- worker functions (service_role)

-- Mark an export processing for this attempt; returns what the worker needs, or
-- {"status": "completed"|"failed"} when there is nothing to do (idempotent re-delivery).
create function public.export_start(export_id uuid, attempt int)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v public.export_jobs;
  v_email text;
  v_org_name text;
begin
  select * into v from public.export_jobs e where e.id = $1 for update;
  if not found then
    raise exception 'export_id: unknown export %', $1 using errcode = 'CX006', hint = 'export_id';
  end if;
  if v.status in ('completed', 'failed') then
    return jsonb_build_object('status', v.status);
  end if;
  update public.export_jobs e
     set status = 'processing', progress = 0, attempts = greatest(e.attempts, coalesce($2, e.attempts + 1)),
         started_at = coalesce(e.started_at, now()), error = null, updated_at = now()
   where e.id = $1
  returning * into v;
  select u.email into v_email from auth.users u where u.id = v.user_id;
  select o.name into v_org_name from public.organizations o where o.id = v.org_id;
  return jsonb_build_object('status', v.status, 'export', to_jsonb(v), 'user_email', v_email, 'org_name', v_org_name);
end
$$;
comment on function public.export_start(uuid, int) is
  'Worker: mark an export processing for attempt n; returns {status, export, user_email, org_name}, or {status} alone when it already completed or failed. CX006 unknown export.';

-- Record render progress (0..100, never backwards) of a processing export.
create function public.export_progress(export_id uuid, progress int)
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  update public.export_jobs e
     set progress = greatest(e.progress, least(100, greatest(0, $2))), updated_at = now()
   where e.id = $1 and e.status = 'processing' and e.progress < least(100, greatest(0, $2));
$$;
comment on function public.export_progress(uuid, int) is 'Worker: progress 0..100 of a processing export (never goes backwards).';

-- Mark an export completed and enqueue the export_completed email in the same transaction.
-- Idempotent: returns false (and changes nothing) when it was already completed.
create function public.export_complete(export_id uuid, file_path text, file_url text, size_bytes bigint,
                                       duration_ms int, email_payload jsonb default '{}')
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v public.export_jobs;
  v_email text;
begin
  update public.export_jobs e
     set status = 'completed', progress = 100, file_path = $2, file_url = $3, size_bytes = $4,
         duration_ms = $5, error = null, completed_at = now(), updated_at = now()
   where e.id = $1 and e.status <> 'completed'
  returning * into v;
  if not found then
    if not exists (select 1 from public.export_jobs e where e.id = $1) then
      raise exception 'export_id: unknown export %', $1 using errcode = 'CX006', hint = 'export_id';
    end if;
    return false;
  end if;
  select lower(u.email) into v_email from auth.users u where u.id = v.user_id;
  if v_email is not null and public.is_email_address(v_email) then
    perform public.enqueue_email(v.org_id, v_email, jsonb_build_object(
      'template', 'export_completed',
      'category', 'transactional',
      'payload', coalesce($6, '{}'::jsonb),
      'dedupe_key', 'export:' || v.id || ':completed'));
  end if;
  return true;
end
$$;
comment on function public.export_complete(uuid, text, text, bigint, int, jsonb) is
  'Worker: mark an export completed (file path, url, size, duration) and enqueue the export_completed email (payload = email_payload) in the same transaction. Idempotent: false when already completed.';

-- Record a failed attempt. final = true: status failed and the export_failed email (once);
-- otherwise back to pending with the error (the engine retries the job).
create function public.export_fail(export_id uuid, error text, final boolean, email_payload jsonb default '{}')
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v public.export_jobs;
  v_email text;
begin
  update public.export_jobs e
     set status = case when $3 then 'failed' else 'pending' end,
         error = left($2, 2000),
         completed_at = case when $3 then now() end,
         updated_at = now()
   where e.id = $1 and e.status not in ('completed', 'failed')
  returning * into v;
  if not found then
    select * into v from public.export_jobs e where e.id = $1;
    if not found then
      raise exception 'export_id: unknown export %', $1 using errcode = 'CX006', hint = 'export_id';
    end if;
    return v.status;
  end if;
  if $3 then
    select lower(u.email) into v_email from auth.users u where u.id = v.user_id;
    if v_email is not null and public.is_email_address(v_email) then
      perform public.enqueue_email(v.org_id, v_email, jsonb_build_object(
        'template', 'export_failed',
        'category', 'transactional',
        'payload', coalesce($4, '{}'::jsonb),
        'dedupe_key', 'export:' || v.id || ':failed'));
    end if;
  end if;
  return v.status;
end
$$;
comment on function public.export_fail(uuid, text, boolean, jsonb) is
  'Worker: record a failed attempt; final = true marks the export failed and enqueues the export_failed email once. Returns the status. Idempotent on finished exports.';

-- ---------------------------------------------------------------- retention and reconciliation

-- Exports whose engine job ended (failed or cancelled: attempts spent on lock expiries, a
-- cancel) without the worker recording an outcome are marked failed. No email: the worker
-- never reached a verdict. Returns how many.
create function public.export_fail_abandoned()
returns int
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_n int;
begin
  update public.export_jobs e
     set status = 'failed', error = coalesce(e.error, 'the export job ended without a result (' || d.state || ')'),
         completed_at = now(), updated_at = now()
    from jobs.job_done d
   where d.id = e.job_id and e.status in ('pending', 'processing') and d.state in ('failed', 'cancelled');
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
comment on function public.export_fail_abandoned() is 'Maintenance: exports whose engine job failed or was cancelled without an outcome become failed. pg_cron exports:reconcile.';

-- Delete completed exports after 30 days and failed ones after 7; their file paths go to
-- public.export_file_deletions for the worker to remove from Storage. Returns the paths.
create function public.export_retention(completed_after interval default interval '30 days',
                                        failed_after interval default interval '7 days')
returns setof text
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return query
  with gone as (
    delete from public.export_jobs e
     where (e.status = 'completed' and e.completed_at < now() - $1)
        or (e.status = 'failed' and coalesce(e.completed_at, e.created_at) < now() - $2)
    returning e.file_path
  ), queued as (
    insert into public.export_file_deletions (file_path)
    select g.file_path from gone g where g.file_path is not null
    returning file_path
  )
  select q.file_path from queued q;
end
$$;
comment on function public.export_retention(interval, interval) is
  'Maintenance: delete completed exports after completed_after (30 days) and failed after failed_after (7 days); returns their file paths, also queued in export_file_deletions for the worker. pg_cron exports:retention.';

revoke all on function public._export_invalid(text, text), public.request_export(uuid, text, text, jsonb),
  public.export_start(uuid, int), public.export_progress(uuid, int),
  public.export_complete(uuid, text, text, bigint, int, jsonb), public.export_fail(uuid, text, boolean, jsonb),
  public.export_fail_abandoned(), public.export_retention(interval, interval) from public, anon, authenticated;
grant execute on function public.request_export(uuid, text, text, jsonb) to authenticated;
grant execute on function public.export_start(uuid, int), public.export_progress(uuid, int),
  public.export_complete(uuid, text, text, bigint, int, jsonb), public.export_fail(uuid, text, boolean, jsonb),
  public.export_fail_abandoned(), public.export_retention(interval, interval) to service_role;

-- cron.schedule with an existing name replaces it (idempotent)
select cron.schedule('exports:retention', '23 3 * * *', 'select count(*) from public.export_retention()');
select cron.schedule('exports:reconcile', '*/5 * * * *', 'select public.export_fail_abandoned()');
