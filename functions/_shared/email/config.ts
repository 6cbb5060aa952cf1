// Configuration of the email functions, read once and validated (names the missing variable).
import { readEnv } from '../db.ts';

export interface EmailConfig {
  resendApiKey: string;
  resendBaseUrl?: string;
  webhookSecret: string;
  defaultFrom: string;
  functionsUrl: string;
  /** Resend requests per second one function instance allows itself (RESEND_RPS, default 2). */
  resendRequestsPerSecond: number;
}

let cached: Readonly<EmailConfig> | undefined;

function positiveInt(name: string, def: number): number {
  const v = readEnv(name);
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${v}"`);
  return n;
}

export function emailConfig(): Readonly<EmailConfig> {
  if (cached) return cached;
  const need = (name: string) => {
    const v = readEnv(name);
    if (!v) throw new Error(`${name} is not set: add it with \`supabase secrets set ${name}=...\` (locally the stack sets it)`);
    return v;
  };
  const supabaseUrl = need('SUPABASE_URL');
  cached = Object.freeze({
    resendApiKey: need('RESEND_API_KEY'),
    resendBaseUrl: readEnv('RESEND_BASE_URL') || undefined,
    webhookSecret: need('RESEND_WEBHOOK_SECRET'),
    defaultFrom: readEnv('EMAIL_FROM') || 'Conveyor <noreply@conveyor.local>',
    // the public URL users click (unsubscribe links); on Supabase the same as SUPABASE_URL
    functionsUrl: readEnv('PUBLIC_FUNCTIONS_URL') || `${supabaseUrl.replace(/\/$/, '')}/functions/v1`,
    resendRequestsPerSecond: positiveInt('RESEND_RPS', 2),
  });
  return cached;
}
