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
