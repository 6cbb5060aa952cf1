// Email templates: `{{var}}` placeholders, HTML-escaped in the html part and raw in the text part,
// a plain-text part always (derived from the html when a template has none), the org footer, and
// for non-transactional mail an unsubscribe link plus List-Unsubscribe headers (RFC 8058 one-click).
import { z } from 'zod';
import { PermanentError } from '../jobs/errors.ts';

export const EMAIL_CATEGORIES = ['transactional', 'campaign', 'automation'] as const;
export type EmailCategory = (typeof EMAIL_CATEGORIES)[number];

export interface EmailTemplate {
  subject: string;
  html: string;
  text?: string;
  /** Validates the template's data before rendering; its issues name the field. */
  schema?: z.ZodType<Record<string, unknown>>;
}

export interface RenderOptions {
  category: EmailCategory;
  /** The organization's footer, plain text (newlines kept). */
  footer?: string;
  /** One-click unsubscribe URL; required for campaign and automation mail. */
  unsubscribeUrl?: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  headers: Record<string, string>;
}

/** A template or its data cannot be rendered: permanent for the job runtime, `field` names the culprit. */
export class TemplateError extends PermanentError {
  override name = 'TemplateError';
  constructor(message: string, readonly field: string) {
    super(message, { field });
  }
}

const httpUrl = z.url({ protocol: /^https?$/ });
const text = z.string().min(1).max(500);

export const TEMPLATES = {
  // a new subscriber (public.tg_subscribers__welcome sends it)
  welcome: {
    subject: 'Welcome to {{org_name}}',
    html: '<h1>Welcome, {{name}}!</h1><p>Thanks for subscribing to {{org_name}}. We will keep you posted.</p>',
    text: 'Welcome, {{name}}!\n\nThanks for subscribing to {{org_name}}. We will keep you posted.',
    schema: z.object({ name: text, org_name: text }).passthrough(),
  },
  export_completed: {
    subject: 'Your export {{export_name}} is ready',
    html:
      '<p>Your export <strong>{{export_name}}</strong> has finished.</p><p><a href="{{download_url}}">Download it</a> before {{expires_at}}.</p>',
    schema: z.object({ export_name: text, download_url: httpUrl, expires_at: text }),
  },
  export_failed: {
    subject: 'Your export {{export_name}} failed',
    html:
      '<p>We could not finish your export <strong>{{export_name}}</strong>.</p><p>Reason: {{reason}}</p><p><a href="{{retry_url}}">Try again</a></p>',
    schema: z.object({ export_name: text, reason: z.string().min(1).max(2000), retry_url: httpUrl }),
  },
  order_digest: {
    subject: '{{org_name}}: {{order_count}} orders {{period}}',
    html:
      '<p>{{org_name}} received <strong>{{order_count}}</strong> orders {{period}}, totalling {{total}}.</p><p><a href="{{dashboard_url}}">Open the dashboard</a></p>',
    schema: z.object({
      org_name: text,
      order_count: z.number().int().nonnegative(),
      period: text,
      total: text,
      dashboard_url: httpUrl,
    }),
  },
} satisfies Record<string, EmailTemplate>;

export type TemplateName = keyof typeof TEMPLATES;

const optionsSchema = z.object({
  category: z.enum(EMAIL_CATEGORIES),
  footer: z.string().max(2000).optional(),
  unsubscribeUrl: httpUrl.optional(),
});

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function fill(template: string, data: Record<string, unknown>, escape: boolean): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = data[name];
    if (value === undefined || value === null) {
      throw new TemplateError(`missing template variable "${name}"`, name);
    }
    if (typeof value === 'object') {
      throw new TemplateError(`template variable "${name}" must be a string, number or boolean`, name);
    }
    const s = String(value);
    return escape ? escapeHtml(s) : s;
  });
}

/** A readable plain-text version of an HTML part: links keep their URL, blocks become lines. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<a\b[^>]*\bhref\s*=\s*"([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) => {
      const l = label.replace(/<[^>]+>/g, '').trim();
      return l && l !== href ? `${l} (${href})` : href;
    })
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/(p|div|h[1-6]|li|tr|table|blockquote)>/gi, '\n\n')
    .replace(/<li\b[^>]*>/gi, '- ')
    .replace(/<hr\b[^>]*>/gi, '\n--\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(
      /&nbsp;/g,
      ' ',
    )
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** RFC 2369 + RFC 8058 headers that let mailbox providers unsubscribe in one click. */
export function listUnsubscribeHeaders(url: string): Record<string, string> {
  const parsed = httpUrl.safeParse(url);
  if (!parsed.success || /[<>\s]/.test(url)) {
    throw new TemplateError('unsubscribe URL must be an http(s) URL', 'unsubscribe_url');
  }
  return { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}

function appendToBody(html: string, fragment: string): string {
  const i = html.search(/<\/body>/i);
  return i === -1 ? `${html}${fragment}` : `${html.slice(0, i)}${fragment}${html.slice(i)}`;
}

/**
 * Renders a named template (or an inline one) with `data`. Throws TemplateError naming the missing
 * or invalid variable; unsubscribe links and headers are added unless the category is transactional.
 */
export function renderEmail(
  template: TemplateName | EmailTemplate,
  data: Record<string, unknown>,
  options: RenderOptions,
): RenderedEmail {
  const tpl: EmailTemplate | undefined = typeof template === 'string'
    ? (TEMPLATES as Record<string, EmailTemplate>)[template]
    : template;
  if (!tpl) throw new TemplateError(`unknown template "${String(template)}"`, 'template');
  const opts = optionsSchema.safeParse(options);
  if (!opts.success) {
    const issue = opts.error.issues[0];
    throw new TemplateError(`${issue.path.join('.')}: ${issue.message}`, issue.path.join('.') || 'options');
  }
  let values = data;
  if (tpl.schema) {
    const parsed = tpl.schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.join('.') || 'data';
      throw new TemplateError(
        issue.code === 'invalid_type' && data?.[field] === undefined
          ? `missing template variable "${field}"`
          : `${field}: ${issue.message}`,
        field,
      );
    }
    values = parsed.data;
  }
  const { category, footer, unsubscribeUrl } = opts.data;

  const subject = fill(tpl.subject, values, false).replace(/[\r\n]+/g, ' ').trim();
  let html = fill(tpl.html, values, true);
  let text = tpl.text !== undefined ? fill(tpl.text, values, false) : htmlToText(html);
  let headers: Record<string, string> = {};

  if (footer) {
    html = appendToBody(
      html,
      `<hr><p style="color:#666;font-size:12px">${escapeHtml(footer).replace(/\n/g, '<br>')}</p>`,
    );
    text += `\n\n--\n${footer}`;
  }
  if (category !== 'transactional') {
    if (!unsubscribeUrl) {
      throw new TemplateError(`${category} email needs an unsubscribe URL`, 'unsubscribe_url');
    }
    headers = listUnsubscribeHeaders(unsubscribeUrl);
    html = appendToBody(
      html,
      `<p style="color:#666;font-size:12px"><a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a></p>`,
    );
    text += `\n\nUnsubscribe: ${unsubscribeUrl}`;
  }
  return { subject, html, text, headers };
}
