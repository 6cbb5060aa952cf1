// HTML templates of the export kinds. Every value from the database goes through escapeHtml;
// a Content-Security-Policy forbids scripts and any load but data: and http(s) images (the
// browser's request interception is the second wall: only IMAGE_HOSTS get through).

export const EXPORT_KINDS = ['product_catalogue', 'price_list'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface Product {
  sku: string;
  name: string;
  description: string | null;
  price_cents: number | string;
  currency: string;
  image_url: string | null;
}

export interface TemplateData {
  orgName: string;
  title?: string | null;
  products: Product[];
  generatedAt: Date;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

/** Only http(s) image URLs make it into a src attribute (no javascript:, file:, data: from users). */
export function safeImageUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

export function formatPrice(cents: number | string, currency: string): string {
  const n = Number(cents) / 100;
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(n);
  } catch {
    return `${n.toFixed(2)} ${currency}`;
  }
}

const CSP = "default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline'; script-src 'none'";

function page(title: string, body: string, generatedAt: Date): string {
  return `<!doctype html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: "DejaVu Sans", sans-serif; margin: 24px; color: #222; font-size: 12px; }
  h1 { font-size: 22px; margin: 0 0 4px; } .meta { color: #777; margin-bottom: 16px; }
  .grid { display: grid; grid-template-columns: repeat(2, 1fr); gap: 12px; }
  .card { border: 1px solid #ddd; border-radius: 6px; padding: 10px; break-inside: avoid; }
  .card img { max-width: 100%; max-height: 120px; display: block; margin-bottom: 6px; }
  .price { font-weight: bold; } .sku { color: #888; font-size: 10px; }
  table { width: 100%; border-collapse: collapse; } td, th { border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left; }
  td.num { text-align: right; }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<div class="meta">Generated ${escapeHtml(generatedAt.toISOString().slice(0, 16).replace('T', ' '))} UTC</div>
${body}
</body></html>`;
}

function productCatalogue(d: TemplateData): string {
  const title = d.title || `${d.orgName} product catalogue`;
  const cards = d.products.map((p) => {
    const img = safeImageUrl(p.image_url);
    return `<div class="card">${img ? `<img src="${escapeHtml(img)}" alt="">` : ''}
<div><strong>${escapeHtml(p.name)}</strong></div>
<div class="sku">${escapeHtml(p.sku)}</div>
<div class="price">${escapeHtml(formatPrice(p.price_cents, p.currency))}</div>
${p.description ? `<p>${escapeHtml(p.description)}</p>` : ''}</div>`;
  }).join('\n');
  return page(title, d.products.length ? `<div class="grid">${cards}</div>` : '<p>No products yet.</p>', d.generatedAt);
}

function priceList(d: TemplateData): string {
  const title = d.title || `${d.orgName} price list`;
  const rows = d.products.map((p) =>
    `<tr><td>${escapeHtml(p.sku)}</td><td>${escapeHtml(p.name)}</td><td class="num">${escapeHtml(formatPrice(p.price_cents, p.currency))}</td></tr>`
  ).join('\n');
  return page(title, `<table><thead><tr><th>SKU</th><th>Product</th><th>Price</th></tr></thead><tbody>${rows}</tbody></table>`, d.generatedAt);
}

/** The HTML document of an export. */
export function renderTemplate(kind: ExportKind, data: TemplateData): string {
  switch (kind) {
    case 'product_catalogue':
      return productCatalogue(data);
    case 'price_list':
      return priceList(data);
    default:
      throw new Error(`unknown export kind ${JSON.stringify(kind)}`);
  }
}
