-- Demo data for the local stack (`npm start`). Seeds are never applied by `supabase db push`.
-- Idempotent: applied on every start; rows that exist are left alone.

-- A signed-in demo user (auth.users belongs to Supabase; locally the compatibility layer has it).
insert into auth.users (id, email, email_confirmed_at, raw_user_meta_data)
values ('00000000-0000-4000-8000-0000000000d0', 'owner@artbase.test', now(), '{"name": "Demo Owner"}')
on conflict (id) do nothing;

-- The demo organization, its owner and its email settings.
insert into public.organizations (id, name, slug, created_by)
values ('00000000-0000-4000-8000-0000000000a1', 'Artbase Studio', 'artbase-studio', '00000000-0000-4000-8000-0000000000d0')
on conflict (id) do nothing;
insert into public.memberships (user_id, org_id, role)
values ('00000000-0000-4000-8000-0000000000d0', '00000000-0000-4000-8000-0000000000a1', 'owner')
on conflict do nothing;
insert into public.email_settings (org_id, sender_name, sender_email, reply_to, footer, frequency_cap)
values ('00000000-0000-4000-8000-0000000000a1', 'Artbase Studio', 'hello@artbase.test', 'support@artbase.test',
        E'Artbase Studio · 12 Canal Street · Amsterdam\nYou get this email because you signed up at artbase.test.', 3)
on conflict (org_id) do nothing;

-- Subscribers: each new one fires the welcome trigger, whose email process-email-queue sends
-- to the local Resend fake at once (captured in .local/emails/).
insert into public.subscribers (org_id, email, name, consent_source)
values ('00000000-0000-4000-8000-0000000000a1', 'ada@example.com', 'Ada Lovelace', 'signup_form'),
       ('00000000-0000-4000-8000-0000000000a1', 'grace@example.com', 'Grace Hopper', 'checkout'),
       ('00000000-0000-4000-8000-0000000000a1', 'alan@example.com', 'Alan Turing', 'import')
on conflict (org_id, email) do nothing;

-- A transactional email, as an app would enqueue it in the same transaction as an order.
select public.enqueue_email('00000000-0000-4000-8000-0000000000a1', 'grace@example.com',
  '{"subject": "Order #1001 confirmed", "html": "<p>Thanks for your order of <strong>Harbour at dusk</strong> (print, A3).</p>",
    "dedupe_key": "order-1001-confirmation"}');

-- A housekeeping run right away: the maintenance route invokes its function on enqueue.
select jobs.enqueue('maintenance', '{"task": "prune_heartbeats"}', '{"dedupe_key": "seed:prune"}');

-- The demo organization's products (what its catalogue and price-list exports render).
insert into public.products (org_id, sku, name, description, price_cents, currency)
values ('00000000-0000-4000-8000-0000000000a1', 'PRINT-001', 'Harbour at dusk', 'Giclée print, A3, signed', 8500, 'EUR'),
       ('00000000-0000-4000-8000-0000000000a1', 'PRINT-002', 'Canal in winter', 'Giclée print, A4', 4500, 'EUR'),
       ('00000000-0000-4000-8000-0000000000a1', 'CARD-010', 'Postcards <set of 10>', 'Mixed motifs & sizes', 1800, 'EUR'),
       ('00000000-0000-4000-8000-0000000000a1', 'ZINE-003', 'Sketchbook zine #3', '32 pages, risograph', 1200, 'EUR')
on conflict (org_id, sku) do nothing;

-- One export request as the demo owner would make it through supabase-js (request_export reads
-- auth.uid() from the JWT claims; here they are set for the session, then cleared). The
-- export worker started by `npm start` renders it to .local/exports/<org>/<export id>.pdf.
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-0000000000d0","role":"authenticated"}', false);
select public.request_export('00000000-0000-4000-8000-0000000000a1', 'product_catalogue', 'pdf', '{}')
 where not exists (select 1 from public.export_jobs where org_id = '00000000-0000-4000-8000-0000000000a1');
select set_config('request.jwt.claims', '', false);
