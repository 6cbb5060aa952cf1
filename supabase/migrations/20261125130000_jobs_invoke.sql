-- Dispatch to edge functions: jobs.invoke posts to <project_url>/functions/v1/<name> with pg_net,
-- reading the project URL and the service-role key from Supabase Vault (secrets `project_url`
-- and `service_role_key`); jobs.schedule_invoke runs that on a pg_cron cadence.

-- pg_net on hosted Supabase (the local stack provides a stand-in `net` schema instead).
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net')
     and not exists (select 1 from pg_namespace where nspname = 'net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

create extension if not exists pg_cron;
create schema if not exists jobs;

create or replace function jobs.invoke(function_name text, body jsonb default '{}'::jsonb)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  if function_name is null or function_name !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
    raise exception 'function_name % is not a valid edge function name (lowercase letters, digits, - and _)',
      coalesce(quote_literal(function_name), 'null') using errcode = 'CV002', hint = 'function_name';
  end if;
  select s.decrypted_secret into v_url from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into v_key from vault.decrypted_secrets s where s.name = 'service_role_key';
  if v_url is null or v_key is null then
    raise exception 'jobs.invoke: Vault secret % is missing', case when v_url is null then 'project_url' else 'service_role_key' end
      using errcode = '55000',
            hint = 'select vault.create_secret(''https://<ref>.supabase.co'', ''project_url''); '
                || 'select vault.create_secret(''<service role key>'', ''service_role_key'');';
  end if;
  return net.http_post(
    url := rtrim(v_url, '/') || '/functions/v1/' || function_name,
    body := coalesce(body, '{}'::jsonb),
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds := 10000
  );
end
$$;

comment on function jobs.invoke(text, jsonb) is
  'POSTs body to the edge function <project_url>/functions/v1/<function_name> through pg_net with the service-role key from Vault; returns the pg_net request id.';

create or replace function jobs.schedule_invoke(name text, cron text, function_name text, body jsonb default '{}'::jsonb)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_job bigint;
begin
  if name is null or name !~ '^[a-z0-9][a-z0-9_:.-]{0,100}$' then
    raise exception 'name % is not valid (lowercase letters, digits and - _ : .)', coalesce(quote_literal(name), 'null')
      using errcode = 'CV002', hint = 'name';
  end if;
  -- validate the function name now rather than on every tick
  if function_name is null or function_name !~ '^[a-z0-9][a-z0-9_-]{0,62}$' then
    raise exception 'function_name % is not a valid edge function name', coalesce(quote_literal(function_name), 'null')
      using errcode = 'CV002', hint = 'function_name';
  end if;
  begin
    -- cron.schedule with an existing name replaces that job
    v_job := cron.schedule('jobs:invoke:' || name, cron, format('select jobs.invoke(%L, %L::jsonb)', function_name, coalesce(body, '{}'::jsonb)));
  exception when others then
    if cron ~* '^\s*[0-9]+\s*seconds?\s*$' then
      raise exception 'sub-minute schedule % needs pg_cron >= 1.5 (installed: %): %', quote_literal(cron),
        (select e.extversion from pg_catalog.pg_extension e where e.extname = 'pg_cron'), sqlerrm
        using errcode = 'CV020', hint = 'cron';
    end if;
    raise exception 'invalid cron schedule %: %', quote_literal(cron), sqlerrm using errcode = 'CV021', hint = 'cron';
  end;
  return v_job;
end
$$;

comment on function jobs.schedule_invoke(text, text, text, jsonb) is
  'Registers (or replaces) the pg_cron job jobs:invoke:<name> that calls jobs.invoke(function_name, body) on the given schedule.';

create or replace function jobs.unschedule_invoke(name text)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (select 1 from cron.job where jobname = 'jobs:invoke:' || name) then
    return false;
  end if;
  perform cron.unschedule('jobs:invoke:' || name);
  return true;
end
$$;

comment on function jobs.unschedule_invoke(text) is 'Removes the pg_cron job jobs:invoke:<name>; false if there was none.';

revoke all on function jobs.invoke(text, jsonb) from public, anon, authenticated;
revoke all on function jobs.schedule_invoke(text, text, text, jsonb) from public, anon, authenticated;
revoke all on function jobs.unschedule_invoke(text) from public, anon, authenticated;
grant execute on function jobs.invoke(text, jsonb) to service_role;
grant execute on function jobs.schedule_invoke(text, text, text, jsonb) to service_role;
grant execute on function jobs.unschedule_invoke(text) to service_role;
