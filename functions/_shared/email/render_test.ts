import assert from 'node:assert/strict';
import { PermanentError } from '../jobs/errors.ts';
import { htmlToText, listUnsubscribeHeaders, renderEmail, TemplateError } from './render.ts';

const welcome = {
  name: '<script>alert(1)</script>',
  org_name: 'Acme & Co',
};

Deno.test('renderEmail escapes values in the html part and keeps them raw in the text part', () => {
  const out = renderEmail('welcome', welcome, { category: 'transactional' });
  assert.match(out.html, /Welcome, &lt;script&gt;alert\(1\)&lt;\/script&gt;!/);
  assert.doesNotMatch(out.html, /<script>/);
  assert.match(out.text, /Welcome, <script>alert\(1\)<\/script>!/);
  assert.match(out.text, /Acme & Co/);
  assert.equal(out.subject, 'Welcome to Acme & Co');
});

Deno.test('renderEmail names a missing variable, from a schema or an inline template', () => {
  assert.throws(
    () => renderEmail('welcome', { name: 'Ada' }, { category: 'transactional' }),
    (err) => err instanceof TemplateError && err.field === 'org_name' && /org_name/.test(err.message),
  );
  assert.throws(
    () =>
      renderEmail({ subject: 'Hi {{ first_name }}', html: '<p>{{body}}</p>' }, { body: 'x' }, {
        category: 'transactional',
      }),
    (err) => err instanceof TemplateError && err.field === 'first_name' && err instanceof PermanentError,
  );
});

Deno.test('renderEmail rejects a javascript: URL where the template expects a link', () => {
  assert.throws(
    () =>
      renderEmail('export_completed', { export_name: 'Q3', expires_at: 'Friday', download_url: 'javascript:alert(1)' }, {
        category: 'transactional',
      }),
    (err) => err instanceof TemplateError && err.field === 'download_url',
  );
});

Deno.test('renderEmail always produces a text part, derived from the html when the template has none', () => {
  const out = renderEmail('export_completed', {
    export_name: 'Q3 <orders>',
    download_url: 'https://files.example.com/x.csv',
    expires_at: 'Friday',
  }, { category: 'transactional', footer: 'Acme Inc.\n1 Main St' });
  assert.match(out.text, /Your export Q3 <orders> has finished\./);
  assert.match(out.text, /Download it \(https:\/\/files\.example\.com\/x\.csv\) before Friday\./);
  assert.match(out.text, /--\nAcme Inc\.\n1 Main St$/);
  assert.match(out.html, /Acme Inc\.<br>1 Main St/);
  assert.ok(
    renderEmail({ subject: 's', html: '<p>only html</p>' }, {}, { category: 'transactional' }).text ===
      'only html',
  );
});

Deno.test('renderEmail adds unsubscribe link and headers only for non-transactional mail', () => {
  const data = {
    org_name: 'Acme',
    order_count: 3,
    period: 'this week',
    total: '$42',
    dashboard_url: 'https://app.example.com',
  };
  const url = 'https://x.supabase.co/functions/v1/unsubscribe?t=abc';
  const tx = renderEmail('order_digest', data, { category: 'transactional', unsubscribeUrl: url });
  assert.deepEqual(tx.headers, {});
  assert.doesNotMatch(tx.html, /Unsubscribe/);
  const campaign = renderEmail('order_digest', data, { category: 'campaign', unsubscribeUrl: url });
  assert.deepEqual(campaign.headers, {
    'List-Unsubscribe': `<${url}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  });
  assert.match(
    campaign.html,
    /<a href="https:\/\/x\.supabase\.co\/functions\/v1\/unsubscribe\?t=abc">Unsubscribe<\/a>/,
  );
  assert.match(campaign.text, /Unsubscribe: https:\/\/x\.supabase\.co\/functions\/v1\/unsubscribe\?t=abc$/);
  assert.throws(
    () => renderEmail('order_digest', data, { category: 'automation' }),
    (err) => err instanceof TemplateError && err.field === 'unsubscribe_url',
  );
});

Deno.test('listUnsubscribeHeaders refuses URLs that could break the header', () => {
  assert.throws(() => listUnsubscribeHeaders('https://x.test/u>\r\nBcc: a@b.c'), TemplateError);
  assert.throws(() => listUnsubscribeHeaders('mailto:u@x.test'), TemplateError);
});

Deno.test('renderEmail keeps the subject on one line and names an unknown template', () => {
  const out = renderEmail({ subject: 'Hi {{n}}', html: '<p>x</p>' }, { n: 'a\r\nBcc: evil@x.test' }, {
    category: 'transactional',
  });
  assert.equal(out.subject, 'Hi a Bcc: evil@x.test');
  assert.throws(
    () => renderEmail('nope' as 'welcome', {}, { category: 'transactional' }),
    (err) => err instanceof TemplateError && err.field === 'template',
  );
});

Deno.test('htmlToText drops style and script blocks and decodes entities once', () => {
  assert.equal(htmlToText('<style>p{}</style><p>a &amp;lt; b</p><script>x()</script>'), 'a &lt; b');
});
