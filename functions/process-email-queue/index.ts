// process-email-queue: sends the outbox (queue `email`) through Resend. Invoked by pg_cron every
// minute and at once when a transactional email is enqueued (jobs.route).
import { db } from '../_shared/db.ts';
import { emailConfig } from '../_shared/email/config.ts';
import { emailProcessor, type EmailJob } from '../_shared/email/process.ts';
import { createMailer } from '../_shared/email/resend.ts';
import { serveQueue } from '../_shared/jobs/edge.ts';
import { z } from 'zod';

const EmailJobSchema = z.object({ message_id: z.number().int().positive() });

let handler: ReturnType<typeof emailProcessor> | undefined;
function processor() {
  const c = emailConfig();
  handler ??= emailProcessor({
    sql: db(),
    mailer: createMailer({ apiKey: c.resendApiKey, baseUrl: c.resendBaseUrl }),
    workerId: `process-email-queue:${crypto.randomUUID().slice(0, 8)}`,
    defaultFrom: c.defaultFrom,
    unsubscribeUrl: `${c.functionsUrl}/unsubscribe`,
    requestsPerSecond: c.resendRequestsPerSecond,
  });
  return handler;
}

Deno.serve(serveQueue<EmailJob>('email', (job) => processor()(job), {
  service: 'process-email-queue',
  schema: EmailJobSchema,
  concurrency: 100,
  batchSize: 100,
  lockMs: 120_000,
  // a 429's Retry-After is usually a second or two: wait for it rather than for the next cron tick
  lingerMs: 5_000,
}));
