// Unit tests of the export worker's parts: templates escape, config names the bad variable,
// metrics format, circuit breaker, error categories, and (real Chromium) network blocking.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermanentError } from '../../functions/_shared/jobs/mod.ts';
import { BrowserPool, isAllowedRequest } from '../src/browser.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { categorize, ExportError, toRuntimeError } from '../src/errors.ts';
import { Metrics } from '../src/metrics.ts';
import { CircuitBreaker, exportPath } from '../src/storage.ts';
import { escapeHtml, renderTemplate } from '../src/templates.ts';

const DB = 'postgresql://u:p@127.0.0.1:5432/db';

describe('templates', () => {
  test('every product value is HTML-escaped', () => {
    const html = renderTemplate('product_catalogue', {
      orgName: 'Acme <Org>',
      title: '"><script>alert(1)</script>',
      products: [{ sku: "S'1", name: '<img src=x onerror=alert(1)>', description: 'a & b `c`', price_cents: 1999, currency: 'EUR', image_url: 'javascript:alert(1)' }],
      generatedAt: new Date('2026-01-01T00:00:00Z'),
    });
    assert.ok(!html.includes('<script>alert'), 'no script tag from data');
    assert.ok(!html.includes('<img src=x'), 'no img tag from data');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('S&#39;1') && html.includes('a &amp; b &#96;c&#96;'));
    assert.ok(!html.includes('javascript:'), 'non-http image URLs are dropped');
    assert.ok(html.includes('€19.99'));
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });
  test('price_list renders a row per product, escaped', () => {
    const html = renderTemplate('price_list', {
      orgName: 'A&B', products: [{ sku: '<b>', name: 'x', description: null, price_cents: 5, currency: 'USD', image_url: null }],
      generatedAt: new Date(),
    });
    assert.ok(html.includes('<td>&lt;b&gt;</td>') && html.includes('A&amp;B price list') && html.includes('$0.05'));
  });
  test('escapeHtml covers the five specials and backtick', () => {
    assert.equal(escapeHtml(`<>&"'\``), '&lt;&gt;&amp;&quot;&#39;&#96;');
    assert.equal(escapeHtml(null), '');
  });
});

describe('config', () => {
  test('defaults apply and the result is frozen', () => {
    const c = loadConfig({ DATABASE_URL: DB });
    assert.equal(c.MAX_CONCURRENT_RENDERS, 2);
    assert.equal(c.JOB_TIMEOUT_SECONDS, 60);
    assert.equal(c.GRACEFUL_SHUTDOWN_TIMEOUT_MS, 30000);
    assert.equal(c.PORT, 8090);
    assert.equal(c.RENDERS_PER_BROWSER, 100);
    assert.deepEqual([...c.IMAGE_HOSTS], []);
    assert.ok(Object.isFrozen(c));
  });
  test('a missing DATABASE_URL is named', () => {
    assert.throws(() => loadConfig({}), (e: ConfigError) => e.variable === 'DATABASE_URL' && /DATABASE_URL is required/.test(e.message));
  });
  test('JOB_TIMEOUT_SECONDS above 120 is refused, naming it', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: DB, JOB_TIMEOUT_SECONDS: '121' }),
      (e: ConfigError) => e.variable === 'JOB_TIMEOUT_SECONDS' && /JOB_TIMEOUT_SECONDS is invalid/.test(e.message));
  });
  test('a non-numeric MAX_CONCURRENT_RENDERS is refused, naming it', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: DB, MAX_CONCURRENT_RENDERS: 'lots' }), (e: ConfigError) => e.variable === 'MAX_CONCURRENT_RENDERS');
  });
  test('Supabase storage needs all three variables', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: DB, SUPABASE_URL: 'http://x.test', EXPORT_BUCKET: 'exports' }), (e: ConfigError) => e.variable === 'SUPABASE_SERVICE_ROLE_KEY');
    assert.doesNotThrow(() => loadConfig({ DATABASE_URL: DB, SUPABASE_URL: 'http://x.test' }), 'without EXPORT_BUCKET the local store is used');
  });
  test('IMAGE_HOSTS is a trimmed lowercase list', () => {
    assert.deepEqual([...loadConfig({ DATABASE_URL: DB, IMAGE_HOSTS: ' CDN.example.com, img.test ' }).IMAGE_HOSTS], ['cdn.example.com', 'img.test']);
  });
});

describe('metrics', () => {
  test('Prometheus text: counters, cumulative histogram, gauges', () => {
    const m = new Metrics();
    m.completed = 3;
    m.failed = 1;
    m.observeDuration(0.3);
    m.observeDuration(1.5);
    m.observeDuration(500);
    const text = m.render({ queueDepth: 7, activeRenders: 2 });
    assert.match(text, /^# TYPE export_jobs_completed_total counter\nexport_jobs_completed_total 3$/m);
    assert.match(text, /^export_jobs_failed_total 1$/m);
    assert.match(text, /^export_job_duration_seconds_bucket\{le="0.25"\} 0$/m);
    assert.match(text, /^export_job_duration_seconds_bucket\{le="0.5"\} 1$/m);
    assert.match(text, /^export_job_duration_seconds_bucket\{le="2"\} 2$/m);
    assert.match(text, /^export_job_duration_seconds_bucket\{le="\+Inf"\} 3$/m);
    assert.match(text, /^export_job_duration_seconds_count 3$/m);
    assert.match(text, /^export_queue_depth 7$/m);
    assert.match(text, /^export_active_renders 2$/m);
    for (const line of text.trim().split('\n')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{le="[^"]+"\})? [0-9.e+-]+)$/);
  });
});

describe('errors and storage helpers', () => {
  test('categories map to the runtime: validation and permanent do not retry', () => {
    assert.equal(categorize(Object.assign(new Error('kind bad'), { code: 'CX001' })), 'validation');
    assert.equal(categorize(new Error('Protocol error: Target closed')), 'resource');
    assert.equal(categorize(new Error('ECONNRESET')), 'transient');
    assert.ok(toRuntimeError(new ExportError('x', 'validation')) instanceof PermanentError);
    assert.ok(!(toRuntimeError(new ExportError('x', 'resource')) instanceof PermanentError));
  });
  test('the circuit opens after 5 failures, fails fast, and closes after a good trial', async () => {
    let now = 0;
    const b = new CircuitBreaker(5, 1000, () => now);
    for (let i = 0; i < 5; i++) await assert.rejects(b.call(() => Promise.reject(new Error('down'))));
    assert.equal(b.state, 'open');
    let called = false;
    await assert.rejects(b.call(async () => (called = true)), /circuit is open/);
    assert.equal(called, false);
    now = 1500;
    assert.equal(b.state, 'half-open');
    assert.equal(await b.call(async () => 'ok'), 'ok');
    assert.equal(b.state, 'closed');
  });
  test('export paths are <org>/<export>.<ext> with uuids only', () => {
    const u = '0e4c1a1e-0000-4000-8000-000000000001';
    assert.equal(exportPath(u, u, 'pdf'), `${u}/${u}.pdf`);
    assert.throws(() => exportPath('../etc', u, 'pdf'), /invalid export path/);
  });
});

describe('network blocking (real Chromium)', () => {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/png' }).end();
  });
  const pool = new BrowserPool({ executablePath: process.env.PUPPETEER_EXECUTABLE_PATH ?? '/usr/bin/chromium', imageHosts: ['allowed.invalid'], rendersPerBrowser: 2 });
  after(async () => {
    await pool.close();
    server.close();
  });

  test('isAllowedRequest: data: passes, allowlisted images only', () => {
    assert.ok(isAllowedRequest('data:image/png;base64,AA==', 'image', []));
    assert.ok(isAllowedRequest('https://allowed.invalid/a.png', 'image', ['allowed.invalid']));
    assert.ok(!isAllowedRequest('https://allowed.invalid/a.js', 'script', ['allowed.invalid']));
    assert.ok(!isAllowedRequest('http://127.0.0.1/secret', 'image', ['allowed.invalid']));
    assert.ok(!isAllowedRequest('file:///etc/passwd', 'image', ['allowed.invalid']));
  });

  test('a page referencing a local server makes no request to it, in PDF and PNG', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    // raw HTML (not from our templates) trying every way to reach the server
    const html = `<html><head><link rel="stylesheet" href="${base}/secret-css"><script src="${base}/secret-js"></script></head>
      <body style="background:url(${base}/secret-bg)"><img src="${base}/secret"><iframe src="${base}/secret-frame"></iframe>
      <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></body></html>`;
    const pdf = await pool.render(html, 'pdf', { timeoutMs: 15000 });
    assert.equal(Buffer.from(pdf.subarray(0, 4)).toString(), '%PDF');
    const png = await pool.render(html, 'png', { timeoutMs: 15000 });
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.deepEqual(hits, [], 'the local server saw no request');
    assert.ok(pool.blockedRequests >= 2);
  });

  test('the browser is relaunched after RENDERS_PER_BROWSER renders and after a crash', async () => {
    const before = pool.launches;
    await pool.render('<p>x</p>', 'png', { timeoutMs: 15000 }); // third render: a new browser
    assert.equal(pool.launches, before + 1);
    process.kill(pool.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const png = await pool.render('<p>after crash</p>', 'png', { timeoutMs: 15000 });
    assert.equal(png[0], 0x89);
    assert.equal(pool.launches, before + 2);
  });
});
