-- Batch requests to Resend, stored before they are sent. Resend's batch endpoint takes one
-- Idempotency-Key for the whole request; if the sender dies after Resend accepted a batch but
-- before the outcomes were recorded, the retry must repeat the identical request with the same
-- key (Resend then answers from its cache instead of sending again). Pruned after 2 days
-- (Resend keeps idempotency keys for 24 hours).

create table public.email_send_batches (
  batch_key text primary key,
  message_ids bigint[] not null,
  request json not null,            -- json, not jsonb: kept byte for byte, key order included
  created_at timestamptz not null default now(),
  constraint email_send_batches_request_array check (json_typeof(request) = 'array'),
  constraint email_send_batches_sizes_match check (cardinality(message_ids) = json_array_length(request))
);
create index email_send_batches_message_ids_idx on public.email_send_batches using gin (message_ids);
create index email_send_batches_created_at_idx on public.email_send_batches using brin (created_at);
alter table public.email_send_batches enable row level security;
revoke all on public.email_send_batches from anon, authenticated;
comment on table public.email_send_batches is
  'Resend batch requests as sent (process-email-queue), so a crashed send is repeated byte for byte with the same Idempotency-Key.';

create function public.email_note_batch(batch_key text, message_ids bigint[], request json)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into public.email_send_batches (batch_key, message_ids, request)
  values ($1, $2, $3)
  on conflict on constraint email_send_batches_pkey do nothing;
$$;
comment on function public.email_note_batch(text, bigint[], json) is
  'Stores a Resend batch request before it is sent (same key twice: the first one is kept).';

create function public.email_find_batch(message_id bigint)
returns table (batch_key text, message_ids bigint[], request json)
language sql
stable
security definer
set search_path = ''
as $$
  select b.batch_key, b.message_ids, b.request
    from public.email_send_batches b
   where b.message_ids @> array[$1]
   order by b.created_at desc
   limit 1;
$$;
comment on function public.email_find_batch(bigint) is
  'The latest stored batch request that included the message (for resuming a crashed send), or nothing.';

revoke all on function public.email_note_batch(text, bigint[], json) from public, anon, authenticated;
revoke all on function public.email_find_batch(bigint) from public, anon, authenticated;
grant execute on function public.email_note_batch(text, bigint[], json) to service_role;
grant execute on function public.email_find_batch(bigint) to service_role;

select jobs.schedule('maintenance:prune-email-batches', '27 3 * * *', 'maintenance', '{"task": "prune_email_batches"}');
select jobs.schedule('maintenance:fail-abandoned-emails', '37 * * * *', 'maintenance', '{"task": "fail_abandoned_emails"}');
