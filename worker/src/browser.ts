// One reused Chromium for all renders: a page per job, relaunched when it disconnects (crash)
// or after RENDERS_PER_BROWSER renders (the retiring browser closes once its pages are done).
// Every page request is intercepted: only data:/about: URLs and images from IMAGE_HOSTS pass.
import puppeteer, { type Browser, type HTTPRequest, type Page } from 'puppeteer-core';
import { ExportError } from './errors.ts';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export interface BrowserOptions {
  executablePath: string;
  imageHosts: readonly string[];
  rendersPerBrowser: number;
  log?: (level: 'info' | 'warn' | 'error', event: string, fields?: Record<string, unknown>) => void;
}

export type RenderFormat = 'pdf' | 'png';

/** Whether a page may make this request: data:/about: always, http(s) images only from the allowlist. */
export function isAllowedRequest(url: string, resourceType: string, imageHosts: readonly string[]): boolean {
  if (url.startsWith('data:') || url === 'about:blank') return true;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return false;
  return resourceType === 'image' && imageHosts.includes(u.hostname.toLowerCase());
}

interface Slot {
  browser: Browser;
  renders: number;
  active: number;
  retiring: boolean;
}

export class BrowserPool {
  private current: Slot | null = null;
  private launching: Promise<Slot> | null = null;
  private closed = false;
  activeRenders = 0;
  launches = 0;
  blockedRequests = 0;

  constructor(private readonly opts: BrowserOptions) {}

  private async launch(): Promise<Slot> {
    const browser = await puppeteer.launch({
      executablePath: this.opts.executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      protocolTimeout: 60_000,
      // over a pipe: Chromium exits when this process dies, even by SIGKILL (no orphans)
      pipe: true,
    });
    this.launches++;
    const slot: Slot = { browser, renders: 0, active: 0, retiring: false };
    browser.on('disconnected', () => {
      if (this.current === slot) this.current = null;
      if (!slot.retiring && !this.closed) this.opts.log?.('warn', 'browser.disconnected', { hint: 'relaunching on the next render' });
    });
    this.opts.log?.('info', 'browser.launched', { pid: browser.process()?.pid ?? null });
    return slot;
  }

  private async slot(): Promise<Slot> {
    if (this.closed) throw new ExportError('browser pool is closed', 'resource');
    if (this.current && this.current.browser.connected && !this.current.retiring) return this.current;
    this.launching ??= this.launch().then((s) => {
      this.current = s;
      return s;
    }).finally(() => (this.launching = null));
    return this.launching;
  }

  /** True when a browser is up (or none was needed yet and one can be launched). */
  get connected(): boolean {
    return !!this.current?.browser.connected;
  }

  /** PIDs of the current browser process (for memory accounting). */
  get pid(): number | undefined {
    return this.current?.browser.process()?.pid;
  }

  /** Ensures a browser is running (startup, health). */
  async warm(): Promise<void> {
    await this.slot();
  }

  /** Renders an HTML document to PDF (A4) or PNG, within timeoutMs. */
  async render(html: string, format: RenderFormat, { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }): Promise<Uint8Array> {
    const slot = await this.slot();
    slot.active++;
    this.activeRenders++;
    let page: Page | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => void page?.close().catch(() => {});
    try {
      page = await slot.browser.newPage();
      signal?.addEventListener('abort', onAbort, { once: true });
      await page.setRequestInterception(true);
      page.on('request', (req: HTTPRequest) => {
        if (req.isInterceptResolutionHandled()) return;
        if (isAllowedRequest(req.url(), req.resourceType(), this.opts.imageHosts)) void req.continue();
        else {
          this.blockedRequests++;
          void req.abort('blockedbyclient');
        }
      });
      const work = (async () => {
        await page!.setViewport({ width: 1024, height: 768 });
        await page!.setContent(html, { waitUntil: 'load', timeout: timeoutMs });
        if (format === 'pdf') return await page!.pdf({ format: 'A4', printBackground: true, timeout: timeoutMs });
        return await page!.screenshot({ type: 'png', fullPage: true });
      })();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ExportError(`render timed out after ${timeoutMs} ms`, 'resource')), timeoutMs);
      });
      const bytes = await Promise.race([work, timeout]);
      return new Uint8Array(bytes);
    } catch (err) {
      if (err instanceof ExportError) throw err;
      throw new ExportError(`render failed: ${(err as Error).message}`, 'resource', err);
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      await page?.close().catch(() => {});
      slot.active--;
      this.activeRenders--;
      slot.renders++;
      if (slot.renders >= this.opts.rendersPerBrowser && !slot.retiring) {
        slot.retiring = true;
        if (this.current === slot) this.current = null;
        this.opts.log?.('info', 'browser.retiring', { renders: slot.renders });
      }
      if (slot.retiring && slot.active === 0) await slot.browser.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.current ?? (this.launching ? await this.launching.catch(() => null) : null);
    this.current = null;
    if (s) await s.browser.close().catch(() => {});
  }
}
