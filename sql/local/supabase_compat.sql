-- =====================================================================================
-- LOCAL ONLY: the Supabase platform objects a hosted project already has.
--
-- Applied by scripts/stack.mjs to the local cluster BEFORE the migrations, never to a real
-- project (there these objects exist and are owned by Supabase). Everything here mirrors
-- the hosted definitions closely enough that the migrations, PostgREST and supabase-js see
-- the same names, signatures and behaviour:
--   * roles anon, authenticated, service_role, authenticator, supabase_admin
--   * schemas auth, extensions, vault, realtime, net, storage
--   * auth.users, auth.uid(), auth.role(), auth.jwt(), auth.email()
--   * Vault: vault.secrets, vault.decrypted_secrets, vault.create_secret, vault.update_secret
--   * Realtime: publication supabase_realtime, realtime.messages, realtime.send,
--     realtime.broadcast_changes, realtime.topic()
--   * pg_net STAND-IN: net.http_post / net.http_get with pg_net's signatures; requests are
--     queued in net.http_request_queue and performed by scripts/net-worker.mjs, which records
--     responses in net._http_response (as pg_net's background worker does).
-- Idempotent: safe to apply on every start.
-- =====================================================================================

-- ---------------------------------------------------------------- roles
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_admin') then
    create role supabase_admin login superuser createdb createrole replication bypassrls;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;

-- Supabase's default privileges on public: API roles may use what the owner creates; RLS decides rows.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- ---------------------------------------------------------------- extensions schema
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

-- ---------------------------------------------------------------- auth
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key default extensions.gen_random_uuid(),
  aud varchar(255) default 'authenticated',
  role varchar(255) default 'authenticated',
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);
create unique index if not exists users_email_partial_key on auth.users (email) where email is not null;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt() to anon, authenticated, service_role;
grant select on auth.users to service_role;

-- ---------------------------------------------------------------- vault (local stand-in)
-- Hosted Vault encrypts with a key held outside the database (pgsodium/libsodium). Locally the
-- secret is encrypted with pgcrypto under a per-cluster random key kept in vault._local_key,
-- readable only by the owner; decrypted_secrets decrypts it, as Vault's view does.
create schema if not exists vault;

create table if not exists vault._local_key (
  id boolean primary key default true check (id),
  key text not null default encode(extensions.gen_random_bytes(32), 'hex')
);
insert into vault._local_key default values on conflict do nothing;
revoke all on vault._local_key from public;

create table if not exists vault.secrets (
  id uuid primary key default extensions.gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace view vault.decrypted_secrets as
  select s.id, s.name, s.description, s.secret,
         convert_from(extensions.pgp_sym_decrypt_bytea(decode(s.secret, 'base64'), k.key), 'utf8') as decrypted_secret,
         s.key_id, s.nonce, s.created_at, s.updated_at
    from vault.secrets s cross join vault._local_key k;

create or replace function vault.create_secret(
  new_secret text, new_name text default null, new_description text default '', new_key_id uuid default null
) returns uuid
language plpgsql security definer set search_path = ''
as $$
declare
  v_id uuid;
begin
  insert into vault.secrets (name, description, secret, key_id)
  values (new_name, coalesce(new_description, ''),
          encode(extensions.pgp_sym_encrypt_bytea(convert_to(new_secret, 'utf8'), (select key from vault._local_key)), 'base64'),
          new_key_id)
  returning id into v_id;
  return v_id;
end
$$;

create or replace function vault.update_secret(
  secret_id uuid, new_secret text default null, new_name text default null,
  new_description text default null, new_key_id uuid default null
) returns void
language plpgsql security definer set search_path = ''
as $$
begin
  update vault.secrets s set
    secret = case when new_secret is null then s.secret
                  else encode(extensions.pgp_sym_encrypt_bytea(convert_to(new_secret, 'utf8'), (select key from vault._local_key)), 'base64') end,
    name = coalesce(new_name, s.name),
    description = coalesce(new_description, s.description),
    key_id = coalesce(new_key_id, s.key_id),
    updated_at = now()
  where s.id = secret_id;
end
$$;

revoke all on all tables in schema vault from public, anon, authenticated;
revoke all on function vault.create_secret(text, text, text, uuid) from public, anon, authenticated;
revoke all on function vault.update_secret(uuid, text, text, text, uuid) from public, anon, authenticated;
grant usage on schema vault to service_role;
grant select on vault.decrypted_secrets to service_role;

-- ---------------------------------------------------------------- realtime (what the server reads)
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end
$$;

create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

create table if not exists realtime.messages (
  id uuid not null default extensions.gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
grant select, insert on realtime.messages to authenticated, anon;
grant all on realtime.messages to service_role;

-- The topic of the channel being authorised: the Realtime server sets it before checking
-- realtime.messages policies for a private channel.
create or replace function realtime.topic() returns text
language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
begin
  insert into realtime.messages (payload, event, topic, private, extension)
  values (payload, event, topic, private, 'broadcast');
exception when others then
  -- as on Supabase: a broadcast must never break the write that caused it
  raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
end
$$;

create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  v_row jsonb;
  v_old jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation in ('INSERT', 'UPDATE') then v_row := to_jsonb(new); end if;
  if operation in ('UPDATE', 'DELETE') then v_old := to_jsonb(old); end if;
  perform realtime.send(
    jsonb_build_object('id', extensions.gen_random_uuid(), 'operation', operation, 'table', table_name,
                       'schema', table_schema, 'record', v_row, 'old_record', v_old),
    event_name, topic_name, true);
end
$$;

grant execute on function realtime.send(jsonb, text, text, boolean) to authenticated, service_role;
grant execute on function realtime.broadcast_changes(text, text, text, text, text, record, record, text)
  to authenticated, service_role;

-- ---------------------------------------------------------------- storage (schema only)
create schema if not exists storage;
grant usage on schema storage to anon, authenticated, service_role;

-- ---------------------------------------------------------------- pg_net STAND-IN
-- pg_net is not installable here. Same schema, tables and function signatures; requests are
-- performed after commit by scripts/net-worker.mjs (LISTEN net_request), like pg_net's worker.
create schema if not exists net;
grant usage on schema net to service_role, postgres;

create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb not null,
  body bytea,
  timeout_milliseconds integer not null
);

create unlogged table if not exists net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

create or replace function net._urlencode_params(url text, params jsonb) returns text
language sql immutable
as $$
  select case when params is null or params = '{}'::jsonb then url
    else url || case when position('?' in url) > 0 then '&' else '?' end ||
         (select string_agg(k || '=' || v, '&') from jsonb_each_text(params) as p(k, v))
  end
$$;

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._urlencode_params(url, params), coalesce(headers, '{}'::jsonb),
          convert_to(coalesce(body, '{}'::jsonb)::text, 'utf8'), timeout_milliseconds)
  returning id into v_id;
  perform pg_notify('net_request', '');
  return v_id;
end
$$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql volatile security definer set search_path = ''
as $$
declare
  v_id bigint;
begin
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('GET', net._urlencode_params(url, params), coalesce(headers, '{}'::jsonb), null, timeout_milliseconds)
  returning id into v_id;
  perform pg_notify('net_request', '');
  return v_id;
end
$$;

revoke all on function net.http_post(text, jsonb, jsonb, jsonb, int) from public;
revoke all on function net.http_get(text, jsonb, jsonb, int) from public;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, int) to service_role, postgres;
grant execute on function net.http_get(text, jsonb, jsonb, int) to service_role, postgres;
grant select on net._http_response to service_role;

comment on schema net is 'LOCAL STAND-IN for pg_net: requests are performed by scripts/net-worker.mjs';
comment on schema vault is 'LOCAL STAND-IN for Supabase Vault (pgcrypto with a per-cluster key)';
