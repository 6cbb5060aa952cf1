-- pgbench floor: the smallest table a queue needs (id, state, payload) and the one index that
-- finds runnable rows in claim order. No CHECKs, no triggers, no history table.
drop table if exists floor_job;
create table floor_job (
  id bigint generated always as identity primary key,
  state smallint not null default 0,      -- 0 queued, 1 running
  locked_by int,
  payload jsonb not null
);
create index floor_job_queued_idx on floor_job (id) where state = 0;
