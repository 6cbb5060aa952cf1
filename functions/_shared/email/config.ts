// Configuration of the email functions, read once and validated (names the missing variable).
import { readEnv } from '../db.ts';

export interface EmailConfig {
  resendApiKey: string;
  resendBaseUrl?: string;
  webhookSecret: string;
  defaultFrom: string;
  functionsUrl: string;
}

let cached: Readonly<EmailConfig> | undefined;

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
  });
  return cached;
}
