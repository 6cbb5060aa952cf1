-- pgbench floor, bulk enqueue: one INSERT of :n rows (payloads built server-side).
insert into floor_job (payload) select jsonb_build_object('i', g) from generate_series(0, :n - 1) g;
