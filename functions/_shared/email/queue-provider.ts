// The `QueueProvider` surface of the hand-rolled email queue Conveyor replaces (enqueue,
// getMessage, getMessagesByStatus), over the outbox: apps migrating from that code keep their
// calls; the messages go through public.enqueue_email, the `email` job queue and
// process-email-queue instead of an `email_queue` table with its own locks.
import type { SupabaseClient } from '@supabase/supabase-js';
import { ConveyorError } from '../jobs/errors.ts';

export const QueueMessageStatus = {
  PENDING: 'pending',
  PROCESSING: 'processing',
  COMPLETED: 'completed',
  FAILED: 'failed',
} as const;
export type QueueMessageStatus = (typeof QueueMessageStatus)[keyof typeof QueueMessageStatus];

/** The old queue's coarse status for each outbox status. */
const STATUS_OF: Record<string, QueueMessageStatus> = {
  queued: 'pending',
  sending: 'processing',
  sent: 'completed',
  delivered: 'completed',
  failed: 'failed',
  bounced: 'failed',
  complained: 'failed',
  suppressed: 'failed',
};
const OUTBOX_STATUSES: Record<QueueMessageStatus, string[]> = {
  pending: ['queued'],
  processing: ['sending'],
  completed: ['sent', 'delivered'],
  failed: ['failed', 'bounced', 'complained', 'suppressed'],
};

export interface EmailPayload {
  to: string;
  subject?: string;
  /** HTML body (the old queue's `content`). */
  content?: string;
  text?: string;
  /** A named template (functions/_shared/email/render.ts) and its data, instead of subject/content. */
  template?: string;
  data?: Record<string, unknown>;
  category?: 'transactional' | 'campaign' | 'automation';
}

export interface QueueMessage {
  id: number;
  type: 'email';
  status: QueueMessageStatus;
  /** The outbox's precise status: queued, sending, sent, delivered, bounced, complained, failed, suppressed. */
  outboxStatus: string;
  payload: EmailPayload;
  attempts: number;
  error: string | null;
  providerMessageId: string | null;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = 'id, recipient, subject, html, text, template, payload, category, status, attempt_count, last_error, provider_message_id, queued_at, updated_at';

// deno-lint-ignore no-explicit-any
function toMessage(r: any): QueueMessage {
  return {
    id: Number(r.id),
    type: 'email',
    status: STATUS_OF[r.status] ?? 'failed',
    outboxStatus: r.status,
    payload: {
      to: r.recipient,
      ...(r.subject ? { subject: r.subject } : {}),
      ...(r.html ? { content: r.html } : {}),
      ...(r.text ? { text: r.text } : {}),
      ...(r.template ? { template: r.template, data: r.payload } : {}),
      category: r.category,
    },
    attempts: r.attempt_count,
    error: r.last_error,
    providerMessageId: r.provider_message_id,
    createdAt: r.queued_at,
    updatedAt: r.updated_at,
  };
}

/**
 * The seed's SupabaseQueueProvider, for one organization, over a service-role supabase-js client:
 * `new SupabaseQueueProvider(createClient(url, serviceRoleKey), { orgId })`.
 */
export class SupabaseQueueProvider {
  constructor(private readonly supabase: SupabaseClient, private readonly opts: { orgId: string }) {
    if (!opts?.orgId) throw new Error('SupabaseQueueProvider: options.orgId (the organization that sends) is required');
  }

  /** Queues one email; `maxAttempts` bounds the send attempts. Bad input: ConveyorError naming the field. */
  async enqueue(msg: { type: 'email'; payload: EmailPayload; maxAttempts?: number; dedupeKey?: string }): Promise<QueueMessage> {
    if (msg.type !== 'email') throw new ConveyorError(`type "${msg.type}" is not supported (only "email")`, 'invalid_option', 'type');
    const p = msg.payload;
    const options: Record<string, unknown> = {
      ...(p.template ? { template: p.template, payload: p.data ?? {} } : { subject: p.subject, html: p.content, text: p.text }),
      ...(p.category ? { category: p.category } : {}),
      ...(msg.maxAttempts !== undefined ? { max_attempts: msg.maxAttempts } : {}),
      ...(msg.dedupeKey ? { dedupe_key: msg.dedupeKey } : {}),
    };
    for (const k of Object.keys(options)) if (options[k] === undefined) delete options[k];
    const { data: id, error } = await this.supabase.rpc('enqueue_email', { org_id: this.opts.orgId, recipient: p.to, options });
    if (error) throw new ConveyorError(error.message, error.code === 'CE002' ? 'unknown_option' : 'invalid_option', error.hint ?? undefined);
    const m = await this.getMessage(Number(id));
    if (!m) throw new Error(`message ${id} was queued but cannot be read back: is the client using the service-role key?`);
    return m;
  }

  async getMessage(id: number): Promise<QueueMessage | null> {
    const { data, error } = await this.supabase.from('email_messages').select(COLUMNS)
      .eq('org_id', this.opts.orgId).eq('id', id).maybeSingle();
    if (error) throw new Error(`getMessage(${id}): ${error.message}`);
    return data ? toMessage(data) : null;
  }

  /** Newest first, at most `limit` (default 100). */
  async getMessagesByStatus(status: QueueMessageStatus, { limit = 100 } = {}): Promise<QueueMessage[]> {
    const statuses = OUTBOX_STATUSES[status];
    if (!statuses) throw new ConveyorError(`status "${status}" is not one of ${Object.values(QueueMessageStatus).join(', ')}`, 'invalid_option', 'status');
    const { data, error } = await this.supabase.from('email_messages').select(COLUMNS)
      .eq('org_id', this.opts.orgId).in('status', statuses).order('queued_at', { ascending: false }).limit(limit);
    if (error) throw new Error(`getMessagesByStatus(${status}): ${error.message}`);
    return (data ?? []).map(toMessage);
  }
}
