-- The `maintenance` queue: housekeeping jobs worked by the `maintenance` edge function.
-- Enqueue invokes the function at once (min_priority 0); pg_cron also invokes it hourly to pick
-- up retries. Daily: prune service heartbeats older than 7 days.
select jobs.create_queue('maintenance', '{"max_attempts": 5}');
select jobs.route('maintenance', 'maintenance', '{"cron": "7 * * * *", "min_priority": 0}');
select jobs.schedule('maintenance:prune-heartbeats', '17 3 * * *', 'maintenance', '{"task": "prune_heartbeats"}');
