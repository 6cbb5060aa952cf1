// The email pipeline's worker side: jobs on queue `email` carry {message_id}; this turns each
// into a Resend send without ever sending a message twice.
//
//   1. email_mark_sending (state written BEFORE the call: attempt recorded, status sending)
//   2. render (escaped template, text part, footer, unsubscribe link + List-Unsubscribe headers)
//   3. send: jobs started in the same tick are coalesced into one Resend batch request (up to
//      100); a lone message is a single send with its own Idempotency-Key
//   4. email_record_outcome (state written AFTER the call)
//
// A crash between 1 and 4 leaves the message `sending`. The retry sees `resumed` and repeats
// the exact request it made (a single send with the message's key, or the stored batch request
// with the batch's key), so Resend answers from its idempotency cache instead of sending again.
import type { Sql } from '../db.ts';
import { PermanentError, RateLimitedError } from '../jobs/errors.ts';
import type { Job } from '../jobs/worker.ts';
import { type EmailCategory, renderEmail, type TemplateName } from './render.ts';
import type { MailMessage, Mailer } from './resend.ts';

export interface EmailJob {
  message_id: number;
}

interface OutboxMessage {
  id: number;
  org_id: string;
  recipient: string;
  to_name: string | null;
  template: string | null;
  subject: string | null;
  html: string | null;
  text: string | null;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  category: EmailCategory;
  idempotency_key: string;
}

interface MarkRow {
  id: number;
  action: 'send' | 'done' | 'skip';
  status: string | null;
  reason?: string;
  provider_message_id?: string;
  resumed?: boolean;
  message?: OutboxMessage;
  settings?: { sender_name: string | null; sender_email: string | null; reply_to: string | null; footer: string | null };
  unsubscribe_token?: string | null;
}

export interface EmailProcessorOptions {
  sql: Sql;
  mailer: Mailer;
  workerId: string;
  /** Sender when the organization has none configured, e.g. `Conveyor <noreply@example.com>`. */
  defaultFrom: string;
  /** Base URL of the `unsubscribe` function (`<project>/functions/v1/unsubscribe`). */
  unsubscribeUrl: string;
  /** Queue rate limit to return to after a 429 slowed it (claims per second). */
  maxRatePerSecond?: number;
  /** Resend requests per second this sender allows itself (Resend's default team limit: 2). */
  requestsPerSecond?: number;
  log?: (r: Record<string, unknown>) => void;
}

type Settled<T> = T | Error;

/** Resend's batch endpoint takes at most 100 emails per request. */
const BATCH_MAX = 100;

/**
 * Coalesces calls made in the same tick into one call of `run` (at most `max` items). With
 * `before` (e.g. waiting for a request slot) the items that arrive meanwhile join the batch.
 */
function coalescer<I, O>(run: (items: I[]) => Promise<Settled<O>[]>, max: number, before?: () => Promise<void>) {
  const pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = async () => {
    if (before) await before();
    timer = null;
    const batch = pending.splice(0, max);
    if (pending.length) timer = setTimeout(flush, 0);
    if (!batch.length) return;
    try {
      const out = await run(batch.map((b) => b.item));
      batch.forEach((b, i) => (out[i] instanceof Error ? b.reject(out[i]) : b.resolve(out[i] as O)));
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  };
  return (item: I) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ item, resolve, reject });
      if (!timer) timer = setTimeout(flush, 0);
    });
}

/** At most `perSecond` calls in any one-second window (Resend counts requests per second). */
export function pacer(perSecond: number) {
  const times: number[] = [];
  let chain = Promise.resolve();
  return () => {
    const slot = chain.then(async () => {
      for (;;) {
        const now = Date.now();
        while (times.length && times[0] <= now - 1000) times.shift();
        if (times.length < perSecond) {
          times.push(now);
          return;
        }
        await new Promise((r) => setTimeout(r, times[0] + 1000 - now + 1));
      }
    });
    chain = slot;
    return slot;
  };
}

async function sha256hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function emailProcessor(o: EmailProcessorOptions) {
  const { sql, mailer } = o;
  const pace = pacer(o.requestsPerSecond ?? 2);
  const log = o.log ?? ((r) => console.log(JSON.stringify({ ts: new Date().toISOString(), fn: 'process-email-queue', ...r })));

  const markSending = coalescer<number, MarkRow>(async (ids) => {
    const rows = await sql`select public.email_mark_sending(${ids}::bigint[], ${o.workerId}) as r`;
    return rows.map((x) => x.r as MarkRow);
  }, 100);

  function compose(row: MarkRow): MailMessage {
    const m = row.message!;
    const s = row.settings ?? { sender_name: null, sender_email: null, reply_to: null, footer: null };
    const unsubscribeUrl = row.unsubscribe_token
      ? `${o.unsubscribeUrl}?token=${encodeURIComponent(row.unsubscribe_token)}`
      : undefined;
    const tpl = m.template
      ? (m.template as TemplateName)
      : { subject: m.subject ?? '', html: m.html ?? '', ...(m.text ? { text: m.text } : {}) };
    if (!m.template && !m.html && m.text) {
      // text-only message: no HTML part to escape into; keep the text as given
      (tpl as { html: string }).html = m.text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/\n/g, '<br>');
    }
    const r = renderEmail(tpl, m.payload ?? {}, { category: m.category, footer: s.footer ?? undefined, unsubscribeUrl });
    const from = s.sender_email ? (s.sender_name ? `${s.sender_name} <${s.sender_email}>` : s.sender_email) : o.defaultFrom;
    return {
      from,
      to: m.to_name ? `${m.to_name} <${m.recipient}>` : m.recipient,
      subject: r.subject,
      html: r.html,
      text: r.text,
      headers: { ...m.headers, ...r.headers },
      ...(s.reply_to ? { replyTo: s.reply_to } : {}),
      tags: [{ name: 'message_id', value: String(m.id) }],
    };
  }

  // one Resend request per tick: a batch (with the request stored before it is sent) or a single send
  const send = coalescer<{ row: MarkRow; mail: MailMessage }, string>(async (items) => {
    if (items.length === 1) {
      const { row, mail } = items[0];
      try {
        const { id } = await mailer.send(mail, { idempotencyKey: row.message!.idempotency_key });
        return [id];
      } catch (err) {
        return [err as Error];
      }
    }
    const ids = items.map((i) => i.row.id);
    const key = `batch-${await sha256hex(items.map((i) => i.row.message!.idempotency_key).join(','))}`;
    const request = items.map((i) => i.mail);
    await sql`select public.email_note_batch(${key}, ${ids}::bigint[], ${JSON.stringify(request)}::text::json)`;
    return await sendStoredBatch(key, request, ids.length);
  }, BATCH_MAX, pace);

  async function sendStoredBatch(key: string, request: MailMessage[], n: number): Promise<Settled<string>[]> {
    try {
      const res = await mailer.sendBatch(request, { idempotencyKey: key, validation: 'permissive' });
      const out: Settled<string>[] = res.ids.map((id) => id ?? new PermanentError('rejected by Resend'));
      for (const e of res.errors) out[e.index] = e.error;
      return out;
    } catch (err) {
      return Array.from({ length: n }, () => err as Error);
    }
  }

  const replays = new Map<string, Promise<Settled<string>[]>>();

  /** A message left `sending` by a crashed attempt: repeat exactly the request that attempt made. */
  async function resend(row: MarkRow, mail: MailMessage): Promise<string> {
    const [batch] = await sql`select batch_key, message_ids, request::text as request from public.email_find_batch(${row.id})`;
    if (!batch) {
      await pace();
      const { id } = await mailer.send(mail, { idempotencyKey: row.message!.idempotency_key });
      return id;
    }
    const ids = (batch.message_ids as (string | number)[]).map(Number);
    // members of one crashed batch resume together: one replay answers them all
    let replay = replays.get(batch.batch_key);
    if (!replay) {
      replay = pace().then(() => sendStoredBatch(batch.batch_key, JSON.parse(batch.request) as MailMessage[], ids.length));
      replays.set(batch.batch_key, replay);
      replay.finally(() => setTimeout(() => replays.delete(batch.batch_key), 1000));
    }
    const out = await replay;
    // the replay answers for every member: record them all (idempotent), ours is returned
    await Promise.all(ids.map((id, i) => {
      const r = out[i];
      return id === row.id || r instanceof Error ? null : recordOutcome(id, 'sent', { provider_message_id: r });
    }));
    const mine = out[ids.indexOf(row.id)];
    if (mine instanceof Error) throw mine;
    return mine;
  }

  // outcomes of the handlers that finish together go in one statement, so their slots free
  // together and the next claim fills a whole Resend batch again
  const recordOutcomes = coalescer<{ id: number; outcome: string; details: Record<string, unknown> }, string>(async (items) => {
    const rows = await sql`
      select public.email_record_outcome((x.value ->> 'id')::bigint, x.value ->> 'outcome', x.value -> 'details') as status
        from jsonb_array_elements(${sql.json(items as never)}) with ordinality as x(value, n)
       order by x.n`;
    return rows.map((r) => r.status as string);
  }, 200);
  async function recordOutcome(id: number, outcome: string, details: Record<string, unknown>) {
    await recordOutcomes({ id, outcome, details });
  }

  // AIMD on the queue's rate limit: halve on a 429 (not below one batch per second), double
  // back (at most every 5 s) while sends succeed, up to maxRatePerSecond.
  const maxRate = o.maxRatePerSecond ?? 100;
  let lastRecoveryCheck = 0;
  async function maybeRecover() {
    const now = Date.now();
    if (now - lastRecoveryCheck < 5000) return;
    lastRecoveryCheck = now;
    const [q] = await sql`select jobs.get_queue('email') as q`;
    const current = Number(q?.q?.rate_limit?.limit ?? maxRate);
    if (current >= maxRate) return;
    const next = Math.min(maxRate, current * 2);
    slowedTo = null;
    await sql`select jobs.update_queue('email', ${sql.json({ rate_limit: { limit: next, interval_ms: 1000 } })})`;
    log({ level: 'info', event: 'rate_limit.recovered', from: current, to: next });
  }

  let slowedTo: number | null = null;
  async function slowDown() {
    const [q] = await sql`select jobs.get_queue('email') as q`;
    const current = Number(q?.q?.rate_limit?.limit ?? o.maxRatePerSecond ?? 100);
    // the limit counts claimed emails; Resend's counts requests, each up to a 100-email batch:
    // below one batch per second the queue would starve the batch endpoint, so that is the floor
    const next = Math.max(Math.min(BATCH_MAX, maxRate), Math.floor(current / 2));
    if (next >= current) return;
    if (slowedTo !== null && slowedTo <= next) return;
    slowedTo = next;
    await sql`select jobs.update_queue('email', ${sql.json({ rate_limit: { limit: next, interval_ms: 1000 } })})`;
    log({ level: 'warn', event: 'rate_limit.slowed', from: current, to: next });
  }

  return async function handle(job: Job<EmailJob>): Promise<Record<string, unknown>> {
    const row = await markSending(job.payload.message_id);
    if (row.action === 'done') return { status: row.status, provider_message_id: row.provider_message_id };
    if (row.action === 'skip') return { status: row.status, reason: row.reason };
    let mail: MailMessage;
    try {
      mail = compose(row);
    } catch (err) {
      await recordOutcome(row.id, 'failed', { error: { message: (err as Error).message } });
      throw err; // TemplateError is permanent
    }
    try {
      const providerId = row.resumed ? await resend(row, mail) : await send({ row, mail });
      await recordOutcome(row.id, 'sent', { provider_message_id: providerId });
      await maybeRecover().catch(() => {});
      return { status: 'sent', provider_message_id: providerId };
    } catch (err) {
      const e = err as Error;
      if (err instanceof PermanentError) {
        await recordOutcome(row.id, 'failed', { error: { message: e.message }, status_code: err.details?.status });
      } else if (err instanceof RateLimitedError) {
        await slowDown().catch(() => {});
        // 429: Resend did not take this request. A first attempt starts afresh next time; a
        // resumed one stays `sending`, since the crashed request before it may have been taken
        if (!row.resumed) {
          await recordOutcome(row.id, 'retry', { error: { message: e.message }, retry_after_ms: err.retryAfterMs });
        }
      }
      // any other error is ambiguous (Resend may have taken the request before the connection
      // broke): the message stays `sending`, so the retry repeats the same request and key
      throw err;
    }
  };
}
