import { isIP } from 'node:net'
import { z } from 'zod'
import { PASSWORD_LENGTH, USERNAME_CHARACTERS, USERNAME_LENGTH } from './modules/users/username'

/** Accepts "3600", "3600s", "30m", "1h", "2d" and returns seconds. */
const duration = z
  .string()
  .regex(/^\d+\s*[smhd]?$/, 'must be a number of seconds or a duration such as 30m, 1h, 2d')
  .transform((value) => {
    const amount = Number.parseInt(value, 10)
    const unit = value.trim().at(-1)
    const factor = unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1
    return amount * factor
  })
  .refine((seconds) => seconds > 0, 'must be positive')

const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1')
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value))

/** "10.0.0.0/8, 192.168.1.10, fd00::/8": the addresses and subnets of the reverse proxies whose X-Forwarded-For is believed. */
const subnetList = optionalText.transform((value, ctx) => {
  const subnets: Array<{ address: string; prefix: number; family: 'ipv4' | 'ipv6' }> = []
  for (const entry of (value ?? '').split(',').map((item) => item.trim()).filter(Boolean)) {
    const [address = '', prefixText, ...rest] = entry.split('/')
    const version = isIP(address)
    const bits = version === 6 ? 128 : 32
    const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN
    if (!version || rest.length > 0 || !(prefix >= 0 && prefix <= bits)) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or subnet such as 10.0.0.0/8` })
      return z.NEVER
    }
    subnets.push({ address, prefix, family: version === 6 ? 'ipv6' : 'ipv4' })
  }
  return subnets
})

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: int(0, 65535).default(3000),
    WEB_CONCURRENCY: int(1, 64).default(1),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),

    DATABASE_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    // The address in parts, when DATABASE_URL is unset: any password works as it is, with no URL encoding.
    // (DATABASE_URL wins: the supervisor hands its workers the URL of the database it prepared.)
    DATABASE_HOST: optionalText,
    DATABASE_PORT: int(1, 65535).default(5432),
    DATABASE_USER: optionalText,
    DATABASE_PASSWORD: optionalText,
    DATABASE_NAME: optionalText,
    // A database that is still starting (compose starts both at once) is waited for, this long, at start.
    DATABASE_CONNECT_RETRY_SECONDS: int(0, 3600).default(30),
    DATABASE_POOL_SIZE: int(1, 200).default(10),
    DATABASE_POOL_TIMEOUT_MS: int(100, 600_000).default(5000),
    DATABASE_STATEMENT_TIMEOUT_MS: int(0, 600_000).default(15_000),
    MIGRATIONS_RUN: flag.default(true),
    EMBEDDED_PG_DIR: z.string().min(1).default('.data/postgres'),
    EMBEDDED_PG_PORT: int(1, 65535).default(54329),

    JWT_SECRET: optionalText,
    JWT_EXPIRES_IN: duration.default(3600),
    JWT_ISSUER: z.string().min(1).default('inventory-api'),
    JWT_AUDIENCE: z.string().min(1).default('inventory-api'),

    ADMIN_USERNAME: z.string().min(USERNAME_LENGTH.min).max(USERNAME_LENGTH.max).regex(USERNAME_CHARACTERS).default('admin'),
    ADMIN_PASSWORD: optionalText.pipe(z.string().min(PASSWORD_LENGTH.min).max(PASSWORD_LENGTH.max).optional()),

    PASSWORD_MEMORY_KIB: int(64, 1_048_576).default(19_456),
    PASSWORD_TIME_COST: int(1, 20).default(2),
    PASSWORD_HASH_CONCURRENCY: int(1, 64).default(2),
    AUTH_CACHE_TTL_SECONDS: int(0, 3600).default(60),
    LOGIN_MAX_FAILURES: int(1, 1000).default(5),
    LOGIN_LOCKOUT_SECONDS: int(1, 86_400).default(60),
    LOGIN_ADDRESS_MAX_FAILURES: int(1, 1_000_000).default(100),
    PASSWORD_CHECKS_PER_ADDRESS: int(1, 10_000).default(32),
    TRUSTED_PROXIES: subnetList,

    LOW_STOCK_THRESHOLD: int(0, 1_000_000_000).default(10),
    // Lists count their matches up to this many; past it `total` is this number and `total_exact` false.
    LIST_COUNT_LIMIT: int(1, 1_000_000).default(10_000),
    BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
    IMPORT_BODY_LIMIT_BYTES: int(1024, 1024 * 1024 * 1024).default(50 * 1024 * 1024),
    // Bun.serve's idleTimeout (at most 255 s, 0 = none): how long a connection may stay silent,
    // including while its request is being handled.
    REQUEST_TIMEOUT_SECONDS: int(0, 255).default(30),
    // Comma-separated; parsed into the list of allowed origins (empty: CORS off).
    CORS_ORIGINS: optionalText.transform((value) =>
      (value ?? '')
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),

    // In production webhook URLs must be https and public, unless this allows private addresses.
    WEBHOOK_ALLOW_PRIVATE: flag.default(false),
    // `process`: one delivery process for the whole group, at a lower CPU priority (nice) than the
    // processes that serve requests; `inline`: the delivery worker runs in every serving process.
    WEBHOOK_WORKER: z.enum(['process', 'inline']).default('process'),
    WEBHOOK_WORKER_NICE: int(0, 19).default(10),
    WEBHOOK_CONCURRENCY: int(1, 100).default(10),
    WEBHOOK_POOL_SIZE: int(1, 50).default(4),
    WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(10_000),
    WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(5000),
    WEBHOOK_RETRY_WINDOW_MS: int(100, 7 * 86_400_000).default(86_400_000),
    // Delivered and failed deliveries are deleted this many days after the event (0: kept forever).
    WEBHOOK_DELIVERY_RETENTION_DAYS: int(0, 3650).default(30),
    METRICS_ENABLED: flag.default(true),
    METRICS_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    IDEMPOTENCY_PURGE_INTERVAL_SECONDS: int(1, 86_400).default(3600),
  })
  .superRefine((env, ctx) => {
    // The connection is cut without an answer at the request timeout: a slow query must fail first,
    // with the JSON 500, after waiting for a connection and running into the statement timeout.
    const databaseMs = env.DATABASE_POOL_TIMEOUT_MS + env.DATABASE_STATEMENT_TIMEOUT_MS
    if (env.REQUEST_TIMEOUT_SECONDS > 0 && env.DATABASE_STATEMENT_TIMEOUT_MS > 0 && env.REQUEST_TIMEOUT_SECONDS * 1000 <= databaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['REQUEST_TIMEOUT_SECONDS'],
        message: `must be more than DATABASE_POOL_TIMEOUT_MS + DATABASE_STATEMENT_TIMEOUT_MS (${databaseMs / 1000} s), or 0`,
      })
    }
    if (env.DATABASE_HOST && !env.DATABASE_USER) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_USER'], message: 'is required with DATABASE_HOST' })
    }
    if (env.NODE_ENV !== 'production') return
    if (!env.DATABASE_URL && !env.DATABASE_HOST) {
      ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'is required in production (or DATABASE_HOST and its parts)' })
    }
    if (!env.JWT_SECRET || Buffer.byteLength(env.JWT_SECRET) < 32) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be at least 32 bytes in production' })
    }
  })

/** Exported for the tests that keep .env.example and compose.yaml in step with it. */
export { schema as configSchema }

export type Config = z.output<typeof schema> & { JWT_SECRET: string }

/**
 * DATABASE_URL from DATABASE_HOST and its parts, each percent-encoded: a password with `/`, `#`, `?`,
 * `@` or `%` (base64 often has them) reaches PostgreSQL unchanged.
 */
function urlFromParts(env: z.output<typeof schema>): string | undefined {
  if (!env.DATABASE_HOST) return undefined
  const host = env.DATABASE_HOST.includes(':') ? `[${env.DATABASE_HOST}]` : env.DATABASE_HOST
  const user = encodeURIComponent(env.DATABASE_USER ?? '')
  const password = env.DATABASE_PASSWORD === undefined ? '' : `:${encodeURIComponent(env.DATABASE_PASSWORD)}`
  const database = encodeURIComponent(env.DATABASE_NAME ?? env.DATABASE_USER ?? '')
  return `postgres://${user}${password}@${host}:${env.DATABASE_PORT}/${database}`
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
    console.error(`Invalid configuration:\n${lines.join('\n')}`)
    process.exit(1)
  }
  // Outside production a missing secret gets a random one: tokens then last until the next restart.
  const JWT_SECRET = parsed.data.JWT_SECRET ?? crypto.randomUUID() + crypto.randomUUID()
  return { ...parsed.data, DATABASE_URL: parsed.data.DATABASE_URL ?? urlFromParts(parsed.data), JWT_SECRET }
}

export const config = loadConfig()
