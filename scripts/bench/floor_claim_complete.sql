-- pgbench floor, one worker round: claim a batch with SKIP LOCKED (its own transaction: the claim
-- is durable, as a queue's is), then complete it by id (a second transaction: the rows leave the
-- table). Run with -M prepared; :batch is set with -D.
with c as (
  select id from floor_job where state = 0 order by id limit :batch for update skip locked
), u as (
  update floor_job j set state = 1, locked_by = :client_id from c where j.id = c.id
  returning j.id, j.payload
)
select coalesce(array_agg(id), '{}') as ids, count(*) as claimed from u
\gset
delete from floor_job where id = any (:ids::bigint[]);
