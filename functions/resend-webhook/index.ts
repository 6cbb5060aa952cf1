// resend-webhook: Resend's delivery events (Svix-signed). Verifies the signature, records each
// event once (the svix-id), moves bounced and complained recipients to the suppression list.
// Forged or replayed deliveries change nothing. verify_jwt = false: Resend sends no Supabase JWT.
import { db } from '../_shared/db.ts';
import { emailConfig } from '../_shared/email/config.ts';
import { recordWebhook } from '../_shared/email/webhook.ts';
import { errorResponse, HttpError, json } from '../_shared/http.ts';

Deno.serve(async (req) => {
  try {
    if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'use POST');
    const result = await recordWebhook(db(), emailConfig().webhookSecret, req.headers, await req.text());
    return json(result);
  } catch (err) {
    return errorResponse(err);
  }
});
