-- Demo data for the local stack (`npm start`). Seeds are never applied by `supabase db push`.
-- Idempotent: applied on every start.

-- A signed-in demo user (auth.users belongs to Supabase; locally the compatibility layer has it).
insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
values ('00000000-0000-4000-8000-0000000000d0', 'demo@conveyor.local', now(), '{"name": "Demo Owner"}')
on conflict (id) do nothing;

-- A housekeeping run right away: the maintenance route invokes its function on enqueue, so the
-- job shows up completed in `select * from jobs.counts()` within a second of start.
select jobs.enqueue('maintenance', '{"task": "prune_heartbeats"}', '{"dedupe_key": "seed:prune"}');
