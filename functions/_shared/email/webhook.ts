import { z } from 'zod';
import type { Sql } from '../db.ts';
import { HttpError } from '../http.ts';
import { SvixVerificationError, verifySvix } from './svix.ts';

const ResendEvent = z.object({
  type: z.string().min(1).max(100),
  created_at: z.string().optional(),
  data: z.object({ email_id: z.string().min(1).max(200) }).passthrough(),
}).passthrough();

/** Verifies a Resend webhook and records it once. Bad signature: 401; bad payload: 400. */
export async function recordWebhook(sql: Sql, secret: string, headers: Headers, body: string) {
  try {
    await verifySvix(secret, { body, headers });
  } catch (err) {
    if (err instanceof SvixVerificationError) throw new HttpError(401, 'invalid_signature', err.message);
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'invalid_json', 'webhook body is not JSON');
  }
  const event = ResendEvent.parse(parsed);
  const id = headers.get('svix-id')!;
  const [r] = await sql`select public.email_record_event(${id}, ${event.type}, ${sql.json(event as never)}) as r`;
  return r.r as Record<string, unknown>;
}
