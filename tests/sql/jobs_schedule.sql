-- schedule / unschedule on pg_cron, and the maintenance cron jobs
begin;
select plan(16);

select is((select schedule from cron.job where jobname = 'jobs:rescue-stale'), '* * * * *', 'jobs:rescue-stale runs every minute');
select is((select command from cron.job where jobname = 'jobs:rescue-stale'), 'select jobs.rescue_stale()', 'jobs:rescue-stale calls jobs.rescue_stale()');
select is((select command from cron.job where jobname = 'jobs:prune'), 'select jobs.prune()', 'jobs:prune calls jobs.prune()');

select isnt(jobs.schedule('t-nightly', '0 3 * * *', 't_sched', '{"kind":"digest"}', '{"priority":2}'), null::bigint, 'schedule() returns the pg_cron job id');
select is((select schedule from cron.job where jobname = 'jobs:schedule:t-nightly'), '0 3 * * *', 'schedule() creates a pg_cron job named jobs:schedule:<name>');
select is((select count(*)::int from jobs.schedule where name = 't-nightly'), 1, 'schedule() records the definition');
select jobs.schedule('t-nightly', '15 4 * * *', 't_sched', '{"kind":"digest2"}');
select is((select count(*)::int from cron.job where jobname = 'jobs:schedule:t-nightly'), 1, 'schedule() with the same name replaces, not duplicates');
select is((select schedule from cron.job where jobname = 'jobs:schedule:t-nightly'), '15 4 * * *', 'the replaced schedule has the new cron expression');

-- what the cron job runs
create temp table r as select jobs._run_schedule('t-nightly') as id;
select is((select payload from jobs.job where id = (select id from r)), '{"kind":"digest2"}'::jsonb, 'a schedule run enqueues the payload into the queue');

select throws_ok($$select jobs.schedule('t-bad', 'every tuesday', 't_sched')$$, 'CV021', null, 'an invalid cron expression raises CV021');
select throws_ok($$select jobs.schedule('t-bad', '0 * * * *', 't_sched', '{}', '{"nope":1}')$$, 'CV001', null, 'schedule() validates the enqueue options up front');
select throws_ok($$select jobs.schedule('bad name!', '0 * * * *', 't_sched')$$, 'CV002', null, 'schedule() refuses an invalid name');

-- sub-minute: pg_cron >= 1.5 accepts it, 1.4 is refused with a clear error
select case when (select string_to_array(split_part(extversion, '-', 1), '.')::int[] from pg_extension where extname = 'pg_cron') < array[1, 5]
  then throws_like($$select jobs.schedule('t-fast', '30 seconds', 't_sched')$$, '%needs pg_cron >= 1.5%', 'a sub-minute schedule on pg_cron < 1.5 says pg_cron >= 1.5 is needed')
  else lives_ok($$select jobs.schedule('t-fast', '30 seconds', 't_sched')$$, 'a sub-minute schedule is passed through to pg_cron >= 1.5')
end;

select is(jobs.unschedule('t-nightly'), true, 'unschedule() returns true for an existing schedule');
select is((select count(*)::int from cron.job where jobname = 'jobs:schedule:t-nightly'), 0, 'unschedule() removes the pg_cron job');
select is(jobs.unschedule('t-nightly'), false, 'unschedule() of an unknown name returns false');

select * from finish();
rollback;
