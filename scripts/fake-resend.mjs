#!/usr/bin/env node
// LOCAL ONLY. A fake of Resend's HTTP API (https://resend.com/docs/api-reference) for tests and
// `npm start`: POST /emails, POST /emails/batch, GET /emails/:id with Resend's error shape
// ({statusCode, name, message}), Idempotency-Key, a per-second rate limit with ratelimit-* headers,
// Svix-signed webhooks for the emails it captures, and a control API under /_control for tests.
// No dependencies; see docs/resend-fake.md. Never point production at it.
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const MAX_BODY_BYTES = 50 * 1024 * 1024;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const BATCH_MAX = 100;
const TO_MAX = 50;
const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
const NAMED_ADDRESS = /^(.*?)\s*<([^<>]+)>$/;
const TAG_PART = /^[A-Za-z0-9_-]{1,256}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * @typedef {{ status?: number, count?: number, retry_after?: number, name?: string, message?: string,
 *   after_capture?: boolean, delay_ms?: number, path?: string }} Fault
 *   A scripted failure: the next `count` matching requests (default 1) fail with `status`.
 *   `after_capture` captures the email first (a response lost after the send); `delay_ms` holds the
 *   request (to provoke concurrent_idempotent_requests); `path` limits it to '/emails' or '/emails/batch'.
 * @typedef {{ url: string | null, secret: string | null, auto: boolean }} WebhookConfig
 * @typedef {{ port?: number, host?: string, rps?: number, dir?: string | false, log?: boolean,
 *   apiKey?: string, webhook?: Partial<WebhookConfig> }} FakeResendOptions
 * @typedef {{ url: string, port: number, close: () => Promise<void>, emails: () => object[],
 *   events: () => object[], stats: () => Record<string, number>, setFaults: (f: Fault | Fault[]) => void,
 *   setRateLimit: (rps: number) => void, setWebhook: (w: Partial<WebhookConfig>) => void,
 *   reset: () => void }} FakeResend
 */

class ApiError extends Error {
  constructor(statusCode, name, message, headers = {}) {
    super(message);
    this.statusCode = statusCode;
    this.name = name;
    this.headers = headers;
  }
}

/** Sliding one-second window over accepted requests; rps <= 0 means unlimited. */
class RateLimiter {
  constructor(rps) {
    this.rps = rps;
    this.hits = [];
  }
  take(now = Date.now()) {
    if (!(this.rps > 0)) return { ok: true, headers: {} };
    this.hits = this.hits.filter((t) => t > now - 1000);
    const ok = this.hits.length < this.rps;
    if (ok) this.hits.push(now);
    const resetSec = Math.max(1, Math.ceil(((this.hits[0] ?? now) + 1000 - now) / 1000));
    const headers = {
      'ratelimit-limit': String(this.rps),
      'ratelimit-remaining': String(Math.max(0, this.rps - this.hits.length)),
      'ratelimit-reset': String(resetSec),
    };
    return ok ? { ok, headers } : { ok, headers: { ...headers, 'retry-after': String(resetSec) } };
  }
}

// ---- validation (messages follow Resend's documented wording where it documents one) ----

const addressOf = (value) => {
  if (typeof value !== 'string') return null;
  const m = NAMED_ADDRESS.exec(value.trim());
  const email = (m ? m[2] : value).trim();
  return ADDRESS.test(email) ? email : null;
};

const invalidAddress = (field) =>
  new ApiError(
    422,
    'validation_error',
    `Invalid \`${field}\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`,
  );

function addressList(body, field, { required = false, max = Infinity } = {}) {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) throw new ApiError(422, 'missing_required_field', `Missing \`${field}\` field.`);
    return null;
  }
  const list = Array.isArray(value) ? value : [value];
  if (required && list.length === 0) {
    throw new ApiError(422, 'missing_required_field', `Missing \`${field}\` field.`);
  }
  if (list.length > max) {
    throw new ApiError(
      422,
      'validation_error',
      `Too many recipients in \`${field}\`: the maximum is ${max}.`,
    );
  }
  for (const item of list) if (!addressOf(item)) throw invalidAddress(field);
  return list.map((s) => s.trim());
}

/** Validates one email body like Resend does; returns the normalised record fields. */
function validateEmail(body, { batch = false } = {}) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(422, 'validation_error', 'The request body must be a JSON object.');
  }
  if (body.from === undefined || body.from === null || body.from === '') {
    throw new ApiError(422, 'missing_required_field', 'Missing `from` field.');
  }
  if (!addressOf(body.from)) throw invalidAddress('from');
  const to = addressList(body, 'to', { required: true, max: TO_MAX });
  if (typeof body.subject !== 'string' || body.subject === '') {
    throw new ApiError(422, 'missing_required_field', 'Missing `subject` field.');
  }
  if (/[\r\n]/.test(body.subject)) {
    throw new ApiError(422, 'validation_error', 'Invalid `subject` field: line breaks are not allowed.');
  }
  for (const f of ['html', 'text']) {
    if (body[f] !== undefined && body[f] !== null && typeof body[f] !== 'string') {
      throw new ApiError(422, 'validation_error', `Invalid \`${f}\` field: expected a string.`);
    }
  }
  if (typeof body.html !== 'string' && typeof body.text !== 'string' && !body.template) {
    throw new ApiError(422, 'missing_required_field', 'Missing `html` or `text` field.');
  }
  if (body.template && (body.html !== undefined || body.text !== undefined)) {
    throw new ApiError(422, 'validation_error', 'Cannot send `html` or `text` together with a `template`.');
  }
  if (batch && body.attachments !== undefined) {
    throw new ApiError(422, 'validation_error', 'The `attachments` field is not supported for batch emails.');
  }
  if (batch && body.scheduled_at !== undefined) {
    throw new ApiError(
      422,
      'validation_error',
      'The `scheduled_at` field is not supported for batch emails.',
    );
  }
  const headers = body.headers ?? null;
  if (headers !== null) {
    if (typeof headers !== 'object' || Array.isArray(headers)) {
      throw new ApiError(422, 'validation_error', 'Invalid `headers` field: expected an object.');
    }
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name) || typeof value !== 'string' || /[\r\n]/.test(value)) {
        throw new ApiError(
          422,
          'validation_error',
          `Invalid \`headers\` field: header \`${name}\` is not a valid header.`,
        );
      }
    }
  }
  const tags = body.tags ?? null;
  if (tags !== null) {
    if (!Array.isArray(tags)) {
      throw new ApiError(422, 'validation_error', 'Invalid `tags` field: expected an array.');
    }
    for (const tag of tags) {
      if (
        !tag || !TAG_PART.test(tag.name ?? '') ||
        (tag.value !== undefined && !TAG_PART.test(String(tag.value)))
      ) {
        throw new ApiError(
          422,
          'validation_error',
          'Invalid `tags` field. Tag names and values can only contain ASCII letters, numbers, underscores or dashes, up to 256 characters.',
        );
      }
    }
  }
  const attachments = body.attachments ?? null;
  if (attachments !== null) {
    if (!Array.isArray(attachments)) {
      throw new ApiError(422, 'validation_error', 'Invalid `attachments` field: expected an array.');
    }
    for (const a of attachments) {
      if (!a || (a.content === undefined && a.path === undefined)) {
        throw new ApiError(422, 'invalid_attachment', 'Attachment must have either a `content` or `path`.');
      }
    }
  }
  return {
    from: body.from.trim(),
    to,
    cc: addressList(body, 'cc'),
    bcc: addressList(body, 'bcc'),
    reply_to: addressList(body, 'reply_to'),
    subject: body.subject,
    html: body.html ?? null,
    text: body.text ?? null,
    headers,
    tags,
    template: body.template ?? null,
    scheduled_at: body.scheduled_at ?? null,
    attachments: attachments?.map((a) => ({ filename: a.filename ?? null, path: a.path ?? null })) ?? null,
  };
}

// ---- helpers ----

/** JSON with sorted keys, so the same payload hashes the same whatever the key order. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${
      Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')
    }}`;
  }
  return JSON.stringify(value);
}

const publicEmail = (e) => ({
  object: 'email',
  id: e.id,
  to: e.to,
  from: e.from,
  created_at: e.created_at,
  subject: e.subject,
  html: e.html,
  text: e.text,
  bcc: e.bcc,
  cc: e.cc,
  reply_to: e.reply_to,
  last_event: e.last_event,
  scheduled_at: e.scheduled_at,
  tags: e.tags,
});

const mimeWord = (s) => (/^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s).toString('base64')}?=`);

function toEml(e) {
  const boundary = `fake-resend-${e.id}`;
  const lines = [
    `From: ${e.from}`,
    `To: ${e.to.join(', ')}`,
    ...(e.cc ? [`Cc: ${e.cc.join(', ')}`] : []),
    ...(e.reply_to ? [`Reply-To: ${e.reply_to.join(', ')}`] : []),
    `Subject: ${mimeWord(e.subject)}`,
    `Date: ${new Date(e.created_at).toUTCString()}`,
    `Message-ID: <${e.id}@fake-resend.local>`,
    'MIME-Version: 1.0',
    `X-Fake-Resend-Id: ${e.id}`,
    ...(e.idempotency_key ? [`X-Fake-Resend-Idempotency-Key: ${e.idempotency_key}`] : []),
    ...Object.entries(e.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
  ];
  for (const [type, content] of [['text/plain', e.text], ['text/html', e.html]]) {
    if (content === null) continue;
    lines.push(
      `--${boundary}`,
      `Content-Type: ${type}; charset=utf-8`,
      'Content-Transfer-Encoding: 8bit',
      '',
      content,
    );
  }
  lines.push(`--${boundary}--`, '');
  return lines.join('\r\n');
}

/** Resend's test recipients (delivered@, bounced@, complained@resend.dev, +labels allowed). */
function outcomeFor(e) {
  const local = (addressOf(e.to[0]) ?? '').toLowerCase().match(/^([a-z]+)(\+[^@]*)?@resend\.dev$/)?.[1];
  return local === 'bounced'
    ? ['email.bounced']
    : local === 'complained'
    ? ['email.delivered', 'email.complained']
    : ['email.delivered'];
}

function svixSignature(secret, id, timestamp, body) {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'validation_error', 'The request body is too large.'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const envNumber = (
  name,
  fallback,
) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : fallback);

// ---- the server ----

/**
 * Starts the fake. Options fall back to FAKE_RESEND_* environment variables.
 * @param {FakeResendOptions} [options]
 * @returns {Promise<FakeResend>}
 */
export async function startFakeResend(options = {}) {
  const host = options.host ?? process.env.FAKE_RESEND_HOST ?? '127.0.0.1';
  const port = options.port ?? envNumber('FAKE_RESEND_PORT', envNumber('CONVEYOR_RESEND_PORT', 54324));
  const requiredKey = options.apiKey ?? process.env.FAKE_RESEND_API_KEY ?? null;
  const logging = options.log ?? true;
  const outbox = options.dir === false ? null : path.resolve(
    options.dir !== undefined
      ? path.join(options.dir, 'outbox.jsonl')
      : (process.env.FAKE_RESEND_OUTBOX ?? '.local/emails/outbox.jsonl'),
  );
  if (outbox) mkdirSync(path.dirname(outbox), { recursive: true });

  const limiter = new RateLimiter(options.rps ?? envNumber('FAKE_RESEND_RPS', 2));
  /** @type {WebhookConfig} */
  const webhook = {
    url: process.env.FAKE_RESEND_WEBHOOK_URL || null,
    secret: process.env.FAKE_RESEND_WEBHOOK_SECRET || null,
    auto: process.env.FAKE_RESEND_WEBHOOK_AUTO !== 'false',
  };
  const setWebhook = (w) => {
    Object.assign(webhook, Object.fromEntries(Object.entries(w ?? {}).filter(([, v]) => v !== undefined)));
    if (webhook.url && !webhook.secret) {
      webhook.secret = `whsec_${randomBytes(24).toString('base64')}`;
      log('webhook.secret_generated', { secret: webhook.secret });
    }
  };

  let emails = new Map();
  let idempotency = new Map();
  /** @type {Required<Fault>[]} */
  let faults = [];
  let events = [];
  let stats = {};
  let deliveries = Promise.resolve();
  const bump = (k, n = 1) => (stats[k] = (stats[k] ?? 0) + n);
  const reset = () => {
    emails = new Map();
    idempotency = new Map();
    faults = [];
    events = [];
    stats = {};
    limiter.hits = [];
  };
  const setFaults = (f) => {
    for (const x of Array.isArray(f) ? f : [f]) faults.push({ count: 1, ...x });
  };
  function log(event, fields = {}) {
    if (logging) {
      console.log(
        JSON.stringify({ ts: new Date().toISOString(), level: 'info', fn: 'fake-resend', event, ...fields }),
      );
    }
  }
  setWebhook(options.webhook);

  function takeFault(route) {
    const f = faults.find((x) => x.count > 0 && (!x.path || x.path === route));
    if (!f) return null;
    f.count -= 1;
    faults = faults.filter((x) => x.count > 0);
    bump('faults_injected');
    return f;
  }

  function emit(email, type) {
    const body = JSON.stringify({
      type,
      created_at: new Date().toISOString(),
      data: {
        created_at: email.created_at,
        email_id: email.id,
        from: email.from,
        to: email.to,
        subject: email.subject,
        ...(email.tags ? { tags: Object.fromEntries(email.tags.map((t) => [t.name, t.value ?? ''])) } : {}),
        ...(type === 'email.bounced'
          ? {
            bounce: {
              type: 'Permanent',
              subType: 'General',
              message: 'The recipient mail server rejected the email (fake).',
            },
          }
          : {}),
      },
    });
    email.last_event = type.slice('email.'.length);
    const event = {
      id: `msg_${randomBytes(18).toString('base64url')}`,
      type,
      email_id: email.id,
      body,
      headers: null,
      status: 'not_configured',
      error: null,
    };
    events.push(event);
    if (!webhook.url) return event;
    const { url, secret } = webhook;
    deliveries = deliveries.then(async () => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      event.headers = {
        'content-type': 'application/json',
        'svix-id': event.id,
        'svix-timestamp': timestamp,
        'svix-signature': svixSignature(secret, event.id, timestamp, body),
      };
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: event.headers,
          body,
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        event.status = res.status;
        bump(res.ok ? 'webhooks_sent' : 'webhooks_failed');
      } catch (err) {
        event.status = 'error';
        event.error = String(err?.message ?? err);
        bump('webhooks_failed');
      }
      log('webhook.delivered', { svix_id: event.id, type, email_id: email.id, status: event.status });
    });
    return event;
  }

  function capture(fields, meta) {
    const email = {
      id: randomUUID(),
      created_at: new Date().toISOString(),
      ...fields,
      last_event: fields.scheduled_at ? 'scheduled' : 'sent',
      idempotency_key: meta.idempotencyKey,
      endpoint: meta.route,
      batch_index: meta.index ?? null,
      request_headers: meta.requestHeaders,
    };
    emails.set(email.id, email);
    bump('captured');
    if (outbox) {
      appendFileSync(outbox, `${JSON.stringify(email)}\n`);
      writeFileSync(
        path.join(path.dirname(outbox), `${email.created_at.replace(/[:.]/g, '-')}-${email.id}.eml`),
        toEml(email),
      );
    }
    log('email.captured', {
      email_id: email.id,
      to: email.to,
      subject: email.subject,
      idempotency_key: email.idempotency_key,
    });
    if (webhook.auto && !email.scheduled_at) {
      for (const type of ['email.sent', ...outcomeFor(email)]) emit(email, type);
    }
    return email.id;
  }

  async function handleApi(req, route, raw) {
    bump('requests');
    const auth = req.headers.authorization;
    if (!auth || !/^Bearer\s+\S/.test(auth)) {
      throw new ApiError(401, 'missing_api_key', 'Missing API key in the authorization header.');
    }
    const key = auth.replace(/^Bearer\s+/, '').trim();
    if (!key.startsWith('re_') || (requiredKey && key !== requiredKey)) {
      throw new ApiError(403, 'invalid_api_key', 'API key is invalid.');
    }

    const limit = limiter.take();
    if (!limit.ok) {
      bump('rate_limited');
      const message =
        `Too many requests. You can only make ${limiter.rps} requests per second. See rate limit response headers for more information.`;
      throw new ApiError(429, 'rate_limit_exceeded', message, limit.headers);
    }
    const respond = (status, body) => ({ status, body, headers: limit.headers });

    if (route === 'get') {
      const email = emails.get(req.url.split('?')[0].slice('/emails/'.length));
      if (!email) throw new ApiError(404, 'not_found', 'Email not found', limit.headers);
      return respond(200, publicEmail(email));
    }

    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new ApiError(400, 'validation_error', 'The request body is not valid JSON.', limit.headers);
    }
    const fault = takeFault(route);
    if (fault?.status && !fault.after_capture) throw faultError(fault, limit.headers);

    const permissive = route === '/emails/batch' &&
      String(req.headers['x-batch-validation'] ?? '').toLowerCase() === 'permissive';
    const validated = [];
    const errors = [];
    try {
      if (route === '/emails') validated.push(validateEmail(body));
      else {
        if (!Array.isArray(body) || body.length === 0 || body.length > BATCH_MAX) {
          throw new ApiError(
            422,
            'validation_error',
            `The batch must be an array of 1 to ${BATCH_MAX} emails.`,
          );
        }
        body.forEach((item, index) => {
          try {
            validated.push({ index, fields: validateEmail(item, { batch: true }) });
          } catch (err) {
            if (!permissive || !(err instanceof ApiError)) {
              throw Object.assign(err, { message: `emails[${index}]: ${err.message}` });
            }
            errors.push({ index, message: err.message });
          }
        });
      }
    } catch (err) {
      if (err instanceof ApiError) {
        bump('validation_errors');
        err.headers = limit.headers;
      }
      throw err;
    }

    const idempotencyKey = req.headers['idempotency-key'] ?? null;
    const scope = `${route}\0${idempotencyKey}`;
    const hash = createHash('sha256').update(canonical(body)).digest('hex');
    if (idempotencyKey !== null) {
      if (idempotencyKey.length < 1 || idempotencyKey.length > 256) {
        throw new ApiError(
          400,
          'invalid_idempotency_key',
          'The key must be between 1-256 chars.',
          limit.headers,
        );
      }
      const seen = idempotency.get(scope);
      if (seen && Date.now() - seen.at < IDEMPOTENCY_TTL_MS) {
        if (seen.hash !== hash) {
          bump('idempotency_conflicts');
          throw new ApiError(
            409,
            'invalid_idempotent_request',
            'Same idempotency key used with a different request payload.',
            limit.headers,
          );
        }
        if (seen.inflight) {
          bump('idempotency_conflicts');
          throw new ApiError(
            409,
            'concurrent_idempotent_requests',
            'Same idempotency key used while original request is still in progress.',
            limit.headers,
          );
        }
        bump('idempotent_replays');
        log('idempotency.replayed', { idempotency_key: idempotencyKey, route });
        return respond(seen.status, seen.body);
      }
      idempotency.set(scope, { hash, inflight: true, at: Date.now() });
    }

    try {
      if (fault?.delay_ms) await sleep(fault.delay_ms);
      const requestHeaders = Object.fromEntries(
        ['user-agent', 'idempotency-key', 'x-batch-validation'].filter((h) => req.headers[h]).map((
          h,
        ) => [h, req.headers[h]]),
      );
      const meta = { idempotencyKey, route, requestHeaders };
      const result = route === '/emails' ? { id: capture(validated[0], meta) } : {
        data: validated.map((v) => ({ id: capture(v.fields, { ...meta, index: v.index }) })),
        ...(permissive ? { errors } : {}),
      };
      if (idempotencyKey !== null) {
        idempotency.set(scope, { hash, inflight: false, at: Date.now(), status: 200, body: result });
      }
      if (fault?.after_capture) throw faultError(fault, limit.headers);
      return respond(200, result);
    } catch (err) {
      const seen = idempotency.get(scope);
      if (idempotencyKey !== null && seen?.inflight) idempotency.delete(scope);
      throw err;
    }
  }

  function faultError(fault, headers) {
    const status = fault.status;
    const name = fault.name ??
      (status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'internal_server_error' : 'validation_error');
    const message = fault.message ??
      (status === 429 ? 'Too many requests (injected fault).' : `Injected fault: HTTP ${status}.`);
    const wait = String(fault.retry_after ?? 1);
    const extra = status === 429
      ? { 'retry-after': wait, 'ratelimit-remaining': '0', 'ratelimit-reset': wait }
      : {};
    log('fault.injected', { status, name, after_capture: Boolean(fault.after_capture) });
    return new ApiError(status, name, message, { ...headers, ...extra });
  }

  async function handleControl(req, route, raw) {
    const body = raw ? JSON.parse(raw) : {};
    const key = `${req.method} ${route}`;
    switch (key) {
      case 'GET /_control/health':
        return { status: 200, body: { ok: true } };
      case 'GET /_control/emails':
        return { status: 200, body: { data: [...emails.values()] } };
      case 'GET /_control/events':
        return { status: 200, body: { data: events } };
      case 'GET /_control/stats':
        return {
          status: 200,
          body: { ...stats, rps: limiter.rps, stored: emails.size, pending_faults: faults.length },
        };
      case 'GET /_control/faults':
        return { status: 200, body: { data: faults } };
      case 'POST /_control/faults':
        setFaults(body);
        return { status: 200, body: { data: faults } };
      case 'DELETE /_control/faults':
        faults = [];
        return { status: 200, body: { data: faults } };
      case 'POST /_control/reset':
        reset();
        return { status: 200, body: { ok: true } };
      case 'POST /_control/rate-limit':
        limiter.rps = Number(body.rps);
        limiter.hits = [];
        return { status: 200, body: { rps: limiter.rps } };
      case 'POST /_control/webhook':
        setWebhook(body);
        return { status: 200, body: { url: webhook.url, secret: webhook.secret, auto: webhook.auto } };
      case 'POST /_control/events': {
        const email = emails.get(body.email_id);
        if (!email) {
          return { status: 404, body: { statusCode: 404, name: 'not_found', message: 'Email not found' } };
        }
        if (typeof body.type !== 'string' || !body.type.startsWith('email.')) {
          return {
            status: 422,
            body: {
              statusCode: 422,
              name: 'validation_error',
              message: '`type` must be an email.* event type',
            },
          };
        }
        const event = emit(email, body.type);
        await deliveries;
        return { status: 200, body: event };
      }
      default:
        return {
          status: 404,
          body: { statusCode: 404, name: 'not_found', message: 'The requested endpoint does not exist.' },
        };
    }
  }

  const server = http.createServer(async (req, res) => {
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const url = (req.url ?? '/').split('?')[0].replace(/\/{2,}/g, '/');
    req.url = url;
    try {
      const raw = await readBody(req);
      if (url.startsWith('/_control/')) {
        const out = await handleControl(req, url.replace(/\/$/, ''), raw);
        return send(out.status, out.body);
      }
      const route = url === '/emails' || url === '/emails/batch'
        ? url
        : /^\/emails\/[^/]+$/.test(url)
        ? 'get'
        : null;
      if (!route) throw new ApiError(404, 'not_found', 'The requested endpoint does not exist.');
      if ((route === 'get') !== (req.method === 'GET') || !['GET', 'POST'].includes(req.method ?? '')) {
        throw new ApiError(405, 'method_not_allowed', 'Method is not allowed for the requested path.');
      }
      const out = await handleApi(req, route, raw);
      send(out.status, out.body, out.headers);
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.statusCode === 401 || err.statusCode === 403) bump('auth_errors');
        log('request.rejected', {
          method: req.method,
          path: url,
          status: err.statusCode,
          name: err.name,
          message: err.message,
        });
        return send(
          err.statusCode,
          { statusCode: err.statusCode, name: err.name, message: err.message },
          err.headers,
        );
      }
      if (err instanceof SyntaxError) {
        return send(400, {
          statusCode: 400,
          name: 'validation_error',
          message: 'The request body is not valid JSON.',
        });
      }
      log('request.failed', { method: req.method, path: url, message: String(err?.message ?? err) });
      send(500, { statusCode: 500, name: 'internal_server_error', message: 'An unexpected error occurred.' });
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const actualPort = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  log('server.started', { url, rps: limiter.rps, outbox, webhook_url: webhook.url });

  return {
    url,
    port: actualPort,
    emails: () => [...emails.values()],
    events: () => events,
    stats: () => ({ ...stats }),
    setFaults,
    setRateLimit: (rps) => {
      limiter.rps = rps;
      limiter.hits = [];
    },
    setWebhook,
    reset,
    close: async () => {
      if (!server.listening) return;
      await deliveries;
      await new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections?.();
      });
      log('server.stopped', { url });
    },
  };
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const fake = await startFakeResend();
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      await fake.close();
      process.exit(0);
    });
  }
}
