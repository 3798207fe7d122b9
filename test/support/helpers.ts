import { createApp } from '../../src/app'
import { dataSource } from '../../src/db/data-source'
import { clearAuthCaches } from '../../src/modules/auth/service'
import { hashPassword } from '../../src/modules/auth/passwords'
import type { Role } from '../../src/modules/users/user.entity'
import { DELIVERY_TASK } from '../../src/modules/webhooks/sql'
import type { ApiBody } from './body'

export const app = createApp()

export interface TestUser {
  id: number
  username: string
  password: string
  role: Role
}

export type Credentials = TestUser | { token: string } | { header: string }

export interface TestResponse<T = ApiBody> {
  status: number
  body: T
  headers: Headers
  text: string
}

const authorization = (as: Credentials) =>
  'token' in as
    ? `Bearer ${as.token}`
    : 'header' in as
      ? as.header
      : `Basic ${Buffer.from(`${as.username}:${as.password}`).toString('base64')}`

/** Sends a request through app.handle(), as a client would over HTTP. */
export async function call<T = ApiBody>(
  method: string,
  path: string,
  options: { as?: Credentials; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse<T>> {
  const headers = new Headers(options.headers)
  if (options.as) headers.set('authorization', authorization(options.as))
  let body: string | undefined
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
  const text = await response.text()
  assertNoSecrets(text)
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {}
  return { status: response.status, body: parsed as T, headers: response.headers, text }
}

const SECRET_MARKERS = ['$argon2', '$2b$', 'password_hash', 'admin-password', 'manager-password', 'customer-password', 'other-password']

/** Every response of the suite goes through here: none may carry a password or a hash. */
export function assertNoSecrets(text: string) {
  const leaked = SECRET_MARKERS.find((marker) => text.includes(marker))
  if (leaked) throw new Error(`a response contains a secret (${leaked}): ${text.slice(0, 200)}`)
}

const SEED: Array<Omit<TestUser, 'id'>> = [
  { username: 'admin', password: 'admin-password', role: 'admin' },
  { username: 'manager', password: 'manager-password', role: 'manager' },
  { username: 'customer', password: 'customer-password', role: 'customer' },
  { username: 'other', password: 'other-password', role: 'customer' },
]

export type Seeded = Record<'admin' | 'manager' | 'customer' | 'other', TestUser>

const TABLES = ['webhook_deliveries', 'webhook_endpoints', 'login_throttle', 'idempotency_keys', 'alerts', 'stock_movements', 'orders', 'product_categories', 'products', 'categories', 'users']

/** Empties every table and seeds one user per role (plus a second customer). */
export async function resetDatabase(): Promise<Seeded> {
  await dataSource.transaction(async (manager) => {
    // A running webhook relay locks the ledger tables and then webhook_deliveries, in the other order
    // from this TRUNCATE: taking its cursors first keeps it out until the tables are empty (no deadlock).
    await manager.query('LOCK TABLE webhook_relay_cursors IN EXCLUSIVE MODE')
    await manager.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`)
  })
  // Queued webhook jobs name deliveries by id, and the ids restart: drop the jobs with them (the relay's stays).
  await dataSource.query(`SELECT graphile_worker.complete_jobs(array_agg(id)) FROM graphile_worker.jobs WHERE task_identifier = '${DELIVERY_TASK}'`)
  await clearAuthCaches()
  const seeded = {} as Seeded
  for (const user of SEED) {
    const [row] = await dataSource.query(
      'INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING id',
      [user.username, await hashPassword(user.password), user.role],
    )
    seeded[user.username as keyof Seeded] = { ...user, id: row.id }
  }
  return seeded
}

export async function tokenFor(user: TestUser): Promise<string> {
  const response = await call('POST', '/login', { as: user })
  if (response.status !== 200) throw new Error(`login failed: ${response.text}`)
  return response.body.access_token!
}

export const query = <T = any>(sql: string, params: unknown[] = []): Promise<T[]> => dataSource.query(sql, params)

/** Inserts a category straight into the database (for tests that are not about creating one). */
export async function insertCategory(name: string, description: string | null = null): Promise<number> {
  const [row] = await dataSource.query('INSERT INTO categories (name, description) VALUES ($1, $2) RETURNING id', [name, description])
  return row.id
}

export const FORBIDDEN_BODY = { error: 'Forbidden', message: 'You do not have permission to perform this action.' }
