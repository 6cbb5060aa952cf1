-- Service heartbeats: every edge function and worker records its last runs here, so
-- `npm start`, dashboards and tests can see that a scheduled service really ran.
-- Written by service code (service_role); not readable by end users.

create table public.service_heartbeats (
  id bigint generated always as identity primary key,
  service text not null,
  source text not null default 'unknown',
  detail jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint service_heartbeats_service_format check (service ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint service_heartbeats_source_length check (length(source) <= 200)
);

create index service_heartbeats_service_created_at_idx on public.service_heartbeats (service, created_at desc);

alter table public.service_heartbeats enable row level security;
-- No policies: anon and authenticated see nothing; service_role bypasses RLS.
revoke all on public.service_heartbeats from anon, authenticated;
revoke all on sequence public.service_heartbeats_id_seq from anon, authenticated;

comment on table public.service_heartbeats is
  'One row per service run (edge function invocation, worker start); kept 7 days by jobs:prune-heartbeats.';
