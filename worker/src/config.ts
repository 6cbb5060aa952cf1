// Worker configuration: read from the environment once, validated, frozen. Errors name the variable.
import { z } from 'zod';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

const Schema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string'),
  MAX_CONCURRENT_RENDERS: int(2, 1, 16),
  JOB_TIMEOUT_SECONDS: int(60, 1, 120),
  GRACEFUL_SHUTDOWN_TIMEOUT_MS: int(30000, 0, 600000),
  PORT: int(8090, 0, 65535),
  STORAGE_DIR: z.string().min(1).default('.local/exports'),
  /** Base of the links to locally stored files (served, signed, by this worker's /files). */
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** HMAC key for local file links; random per process when unset (links die with it). */
  STORAGE_URL_SECRET: z.string().min(16).optional(),
  RENDERS_PER_BROWSER: int(100, 1, 100000),
  /** Comma-separated host names pages may load images from (exact match, https or http). */
  IMAGE_HOSTS: z.string().default('').transform((s) => s.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
  PUPPETEER_EXECUTABLE_PATH: z.string().min(1).default('/usr/bin/chromium'),
  SUPABASE_URL: z.url().optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  EXPORT_BUCKET: z.string().min(1).optional(),
  /** Signed URL lifetime; also the "expires" date in the completion email. */
  URL_TTL_SECONDS: int(30 * 24 * 3600, 60, 365 * 24 * 3600),
  /** Where the export_failed email's "try again" link points. */
  APP_URL: z.url({ protocol: /^https?$/ }).default('http://localhost:3000/exports'),
  WORKER_ID: z.string().min(1).optional(),
  ENABLE_CANARY_EXPORT: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Test only: delay each render by this many ms (crash tests). */
  EXPORT_TEST_RENDER_DELAY_MS: int(0, 0, 600000),
});

export type Config = Readonly<z.output<typeof Schema>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, readonly variable: string) {
    super(message);
  }
}

/** Validates `env` (default process.env); throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(Schema.shape)) {
    const v = env[key];
    picked[key] = v === '' ? undefined : v;
  }
  const parsed = Schema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue.path[0] ?? 'environment');
    const missing = picked[variable] === undefined;
    throw new ConfigError(`${variable} ${missing ? 'is required' : `is invalid: ${issue.message}`}`, variable);
  }
  const c = parsed.data;
  // EXPORT_BUCKET selects Supabase Storage (and then needs the URL and key); without it files go
  // to the local store, whatever else is set (SUPABASE_URL is set in most environments anyway)
  if (c.EXPORT_BUCKET) {
    const variable = !c.SUPABASE_URL ? 'SUPABASE_URL' : !c.SUPABASE_SERVICE_ROLE_KEY ? 'SUPABASE_SERVICE_ROLE_KEY' : null;
    if (variable) throw new ConfigError(`${variable} is required when EXPORT_BUCKET is set (Supabase Storage)`, variable);
  }
  return Object.freeze({ ...c, IMAGE_HOSTS: Object.freeze([...c.IMAGE_HOSTS]) as unknown as string[] });
}
