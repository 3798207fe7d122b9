/**
 * Property-based fuzzing of every endpoint through app.handle(): random and hostile bodies, query
 * strings, path ids and headers, sent by random roles. Whatever arrives, the answer is never a
 * 5xx, every error is exactly `{error, message}`, no submitted value is echoed back, a 4xx (or any
 * GET) changes nothing in the database, and no role gets past its guard.
 *
 * Bounded for the default run; FUZZ_RUNS=20 hunts longer, FUZZ_SEED=<seed> replays a failure.
 */
import { beforeAll, describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { SignJWT } from 'jose'
import { config } from '../../src/config'
import { resetLoginThrottle } from '../../src/modules/auth/throttle'
import { swaggerAssetNames } from '../../src/http/swagger-ui'
import type { Role } from '../../src/modules/users/user.entity'
import { checkProperty, snapshot } from './support'
import { insertProduct } from '../support/fixtures'
import { app, assertNoSecrets, call, insertCategory, query, resetDatabase, tokenFor, type Seeded } from '../support/helpers'

const FILE = 'test/fuzz/endpoints.test.ts'

/** Every generated hostile string carries it: finding it in a response means the input was echoed. */
const CANARY = 'Zq7Cnry'
const containsCanary = (text: string) => text.toLowerCase().includes(CANARY.toLowerCase())

// ---------------------------------------------------------------- the endpoints

type Access = 'public' | 'optional' | 'auth' | readonly Role[]
type FieldArbs = Record<string, fc.Arbitrary<unknown>>

interface Endpoint {
  method: string
  path: string
  access: Access
  /** Body fields with generators of plausible values; absent for routes without a body. */
  body?: FieldArbs
  /** Query parameters with generators of plausible values. */
  query?: FieldArbs
}

const STAFF = ['manager', 'admin'] as const
const ADMIN = ['admin'] as const

const page = { limit: fc.constantFrom('1', '20', '100'), offset: fc.constantFrom('0', '1', '5') }
const productIds = fc.constantFrom(1, 2, 3, 999)
const categoryIdList = fc.subarray([1, 2, 999])
const password = fc.constantFrom('admin-password', 'customer-password', 'long-enough-1', 'wrong-password')
const roleValue = fc.constantFrom('customer', 'manager', 'admin')
const categoryName = fc.oneof(fc.constantFrom('Tools', 'tools', 'Garden', '  Spaced  '), fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,19}$/))
const productFields: FieldArbs = {
  name: fc.oneof(fc.constant('Drill'), fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,19}$/)),
  description: fc.constantFrom('Cordless.', null, ''),
  price: fc.constantFrom(0, 0.1, 9.99, 10, 89.9, 9_999_999_999.99),
  stock: fc.integer({ min: 0, max: 100 }),
  stock_quantity: fc.integer({ min: 0, max: 100 }),
  low_stock_threshold: fc.integer({ min: 0, max: 20 }),
  category_ids: categoryIdList,
  sku: fc.constantFrom('DRL-1', 'drl-1', 'SAW.2', null),
}
const adjustmentFields: FieldArbs = {
  delta: fc.constantFrom(-5, -1, 1, 3, 20),
  reason: fc.constantFrom('restock', 'damage', 'count', 'order'),
  note: fc.constantFrom('Shelf count.', null),
  expected_stock: fc.integer({ min: 0, max: 30 }),
}

const productFilters: FieldArbs = {
  sku: fc.constantFrom('DRL-1', 'saw.2'),
  q: fc.constantFrom('drill', 'a', '%', '_'),
  category_id: fc.constantFrom('1', '2', '999'),
  min_price: fc.constantFrom('0', '5', '9.99'),
  max_price: fc.constantFrom('10', '100.5'),
  in_stock: fc.constantFrom('true', 'false'),
  low_stock: fc.constantFrom('true', 'false'),
  sort: fc.constantFrom('name', '-price', 'stock', '-created_at'),
}

/** Mirrors the spec's table of endpoints and roles; a test below checks it against app.routes. */
const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: '/health', access: 'public' },
  { method: 'GET', path: '/health/ready', access: 'public' },
  { method: 'GET', path: '/metrics', access: 'public' },
  { method: 'GET', path: '/swagger', access: 'public' },
  { method: 'GET', path: '/swagger/json', access: 'public' },
  { method: 'GET', path: '/swagger/assets/:file', access: 'public' },
  {
    method: 'POST',
    path: '/login',
    access: 'public',
    body: { username: fc.constantFrom('admin', 'customer', 'nobody', 'ADMIN'), password },
  },
  {
    method: 'POST',
    path: '/users',
    access: 'optional',
    body: { username: fc.oneof(fc.constantFrom('admin', 'Customer'), fc.stringMatching(/^[a-z][a-z0-9_.-]{2,12}$/)), password, role: roleValue },
  },
  { method: 'GET', path: '/users', access: ADMIN, query: page },
  { method: 'GET', path: '/users/:id', access: 'auth' },
  { method: 'PUT', path: '/users/:id', access: 'auth', body: { password, role: roleValue } },
  { method: 'DELETE', path: '/users/:id', access: ADMIN },
  { method: 'POST', path: '/categories', access: STAFF, body: { name: categoryName, description: fc.constantFrom('Hand tools.', null) } },
  { method: 'GET', path: '/categories', access: 'auth', query: page },
  { method: 'GET', path: '/categories/:id', access: 'auth' },
  { method: 'PUT', path: '/categories/:id', access: STAFF, body: { name: categoryName, description: fc.constantFrom('Hand tools.', null) } },
  { method: 'DELETE', path: '/categories/:id', access: ADMIN },
  { method: 'POST', path: '/products', access: STAFF, body: productFields },
  { method: 'GET', path: '/products', access: 'auth', query: { ...page, ...productFilters } },
  { method: 'GET', path: '/products/export', access: STAFF, query: productFilters },
  // JSON bodies (and the other generated types) where CSV is expected: refused whole.
  { method: 'POST', path: '/products/import', access: STAFF, body: productFields },
  { method: 'GET', path: '/products/:id', access: 'auth' },
  { method: 'PUT', path: '/products/:id', access: STAFF, body: productFields },
  { method: 'DELETE', path: '/products/:id', access: ADMIN },
  { method: 'GET', path: '/products/:id/stock-movements', access: STAFF, query: page },
  { method: 'POST', path: '/products/:id/stock-adjustments', access: STAFF, body: adjustmentFields },
  {
    method: 'POST',
    path: '/stock-adjustments',
    access: STAFF,
    body: {
      items: fc.array(
        fc.record({ product_id: productIds, delta: fc.constantFrom(-5, -1, 2), reason: fc.constantFrom('restock', 'loss') }, { requiredKeys: [] }),
        { minLength: 1, maxLength: 4 },
      ),
    },
  },
  { method: 'POST', path: '/orders', access: 'auth', body: { product_id: productIds, quantity: fc.integer({ min: 1, max: 12 }) } },
  { method: 'GET', path: '/orders', access: 'auth', query: page },
  { method: 'GET', path: '/orders/:id', access: 'auth' },
  { method: 'PUT', path: '/orders/:id/status', access: STAFF, body: { status: fc.constantFrom('Pending', 'Completed', 'pending', 'Cancelled') } },
  { method: 'GET', path: '/alerts', access: STAFF, query: page },
  {
    method: 'POST',
    path: '/webhooks',
    access: ADMIN,
    body: {
      url: fc.constantFrom('http://127.0.0.1:9/hook', 'https://example.com/hook', 'ftp://example.com/', 'not a url'),
      events: fc.subarray(['stock.low', 'stock.changed', 'order.created', 'order.status_changed', 'order.deleted']),
      description: fc.constantFrom('ERP', null),
    },
  },
  { method: 'GET', path: '/webhooks', access: ADMIN, query: page },
  { method: 'GET', path: '/webhooks/:id', access: ADMIN },
  { method: 'DELETE', path: '/webhooks/:id', access: ADMIN },
  { method: 'GET', path: '/webhooks/:id/deliveries', access: ADMIN, query: page },
  { method: 'POST', path: '/webhooks/:id/deliveries/:delivery_id/retry', access: ADMIN },
]

// ---------------------------------------------------------------- hostile values

/** Text inserted into a JSON body as is: numbers JSON.stringify cannot write, duplicate keys, prototype keys. */
class Raw {
  constructor(readonly text: string) {}
}

function serialize(value: unknown): string {
  if (value instanceof Raw) return value.text
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${serialize(item)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

const weighted = <T,>(...arbs: Array<[number, fc.Arbitrary<T>]>) => fc.oneof(...arbs.map(([weight, arbitrary]) => ({ weight, arbitrary })))

const noise = weighted<string>(
  [3, fc.string({ unit: 'binary', maxLength: 12 })],
  // Characters that storage, logs or terminals treat specially (U+0000 cannot be stored in PostgreSQL text).
  [3, fc.constantFrom('\u0000', '\ud800', '\udfff', '\ufeff', '\u202e', '\u0007', '\u001b[31m', '\n', '\r\n', '\t', '\u2028', '\u0085', '💥', 'e\u0301')],
  [2, fc.constantFrom('%00', '%', '\\', '"', "'", '<script>', '${x}', '{{x}}', '%s%n', '../../etc/passwd', "'; DROP TABLE users; --", ' ', '')],
)

/** Strings that would show up in a response if it echoed its input. */
const hostileString = weighted<string>(
  [20, fc.tuple(noise, noise).map(([before, after]) => `${before}${CANARY}${after}`)],
  // Just over each maximum the schemas set, and (rarely, it is slow) far over all of them.
  [4, fc.constantFrom(51, 101, 129, 201, 256, 2001).map((length) => CANARY + 'x'.repeat(length))],
  [1, fc.constant(CANARY + '\u00e9'.repeat(100_000))],
)

const rawNumber = fc
  .constantFrom(
    '1e308', '-1e308', '1e400', '-0', '0.30000000000000004', '1.005', '0.001', '2147483647', '2147483648', '-2147483649',
    '9007199254740993', '123456789012345678901234567890', '1E2', '5e-324', '-1', '0', '10000', '10001', '1000000001', '1.5',
  )
  .map((text) => new Raw(text))

const numberLikeString = fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e3', '0x10', ' 5', '5 ', '٣', '1_000', '')

const protoObject = fc
  .constantFrom(
    '{"__proto__":{"role":"admin","polluted":"Zq7Cnry"}}',
    '{"constructor":{"prototype":{"polluted":"Zq7Cnry"}}}',
    '{"prototype":{"polluted":"Zq7Cnry"}}',
  )
  .map((text) => new Raw(text))

const idArray = weighted<unknown>(
  [3, fc.array(fc.integer({ min: -2, max: 1000 }), { maxLength: 60 })],
  [1, fc.constant(Array.from({ length: 10_000 }, () => 1))],
  [1, fc.array(fc.oneof(fc.constant(null), fc.constant('1'), rawNumber), { maxLength: 4 })],
)

const hostileValue: fc.Arbitrary<unknown> = weighted<unknown>(
  [6, hostileString],
  [4, rawNumber],
  [2, numberLikeString],
  [2, fc.constantFrom(null, true, false, [], {}, 0, -1)],
  [1, idArray],
  [1, protoObject],
  [1, fc.jsonValue({ maxDepth: 3 })],
  // Nesting at any depth, arrays or objects: past 32 levels the reader refuses it before parsing.
  [
    1,
    fc.tuple(fc.integer({ min: 2, max: 200_000 }), fc.boolean()).map(([depth, arrays]) =>
      new Raw(arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
    ),
  ],
)

const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'id', 'user_id', 'role', 'status', 'deleted_at', 'password_hash', 'is_admin', `${CANARY}key`]

/** A body for `fields`: each field absent, plausible or hostile; prototype and mass-assignment keys on top. */
function objectBody(fields: FieldArbs): fc.Arbitrary<string> {
  const entry = (name: string, plausible: fc.Arbitrary<unknown>) =>
    weighted<[string, unknown] | undefined>(
      [3, fc.constant(undefined)],
      [5, plausible.map((value) => [name, value] as [string, unknown])],
      [3, hostileValue.map((value) => [name, value] as [string, unknown])],
    )
  const extra = fc.array(fc.tuple(fc.constantFrom(...EXTRA_KEYS), hostileValue), { maxLength: 2 })
  return fc.tuple(fc.tuple(...Object.entries(fields).map(([name, arb]) => entry(name, arb))), extra).map(([entries, extras]) => {
    const all = [...entries.filter((item): item is [string, unknown] => item !== undefined), ...extras]
    return `{${all.map(([key, value]) => `${JSON.stringify(key)}:${serialize(value)}`).join(',')}}`
  })
}

const TEXT_FIELDS = new Set(['name', 'description', 'username', 'password', 'role', 'status'])

/** A body a client could almost have meant: every field plausible but one, which is hostile (or one hostile extra key). */
function focusedBody(fields: FieldArbs): fc.Arbitrary<string> {
  return fc
    .tuple(fc.record(fields), fc.constantFrom(...Object.keys(fields), '(extra key)'), fc.constantFrom(...EXTRA_KEYS))
    .chain(([values, target, extraKey]) =>
      // A text field mostly gets hostile text: its own validation and storage are what is being probed.
      (TEXT_FIELDS.has(target) ? weighted<unknown>([3, hostileString], [1, hostileValue]) : hostileValue).map(
        (hostile) => [values, target, extraKey, hostile] as const,
      ),
    )
    .map(([values, target, extraKey, hostile]) => {
      const entries: Array<[string, unknown]> = Object.entries(values).map(([key, value]) => [key, key === target ? hostile : value])
      if (target === '(extra key)') entries.push([extraKey, hostile])
      return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${serialize(value)}`).join(',')}}`
    })
}

const rawBody = fc.constantFrom(
  '', 'null', '[]', '"Zq7Cnry"', '42', '{', '{"a":', '{"Zq7Cnry": }', "{'single': 'Zq7Cnry'}", 'Zq7Cnry', '{"a":1}{"b":2}',
  '\u0000Zq7Cnry', '\ufeff{}', '{"a":"\\ud800Zq7Cnry"}', '{"a":"\\u0000Zq7Cnry"}', '<xml>Zq7Cnry</xml>', 'username=Zq7Cnry&password=x',
)

/** Byte sequences that are not UTF-8: a Latin-1 é, a bad continuation, an encoded surrogate, a 5-byte form, a stray byte. */
const INVALID_UTF8 = [[0xe9], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff]]

/** The text with bytes that are not UTF-8 spliced in somewhere: refused, never stored altered. */
const withInvalidUtf8 = (text: fc.Arbitrary<string>) =>
  text.chain((body) =>
    fc
      .tuple(fc.nat({ max: body.length }), fc.constantFrom(...INVALID_UTF8))
      .map(([at, bytes]) => new Uint8Array(Buffer.concat([Buffer.from(body.slice(0, at)), Buffer.from(bytes), Buffer.from(body.slice(at))]))),
  )

function bodyFor(endpoint: Endpoint): fc.Arbitrary<string | Uint8Array | undefined> {
  if (endpoint.method === 'GET') return fc.constant(undefined)
  const shaped = endpoint.body ? objectBody(endpoint.body) : fc.constant('{}')
  return weighted<string | Uint8Array | undefined>(
    [16, shaped],
    [2, withInvalidUtf8(shaped)],
    // Cut short somewhere: malformed JSON that still carries hostile values.
    [4, shaped.chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((end) => text.slice(0, end)))],
    [4, rawBody],
    [2, fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value))],
    [2, fc.constant(undefined)],
    // One byte over the 1 MiB limit.
    [1, fc.constant(`{"name":"${'x'.repeat(1024 * 1024 - 10)}"}`)],
  )
}

// ---------------------------------------------------------------- path, query, headers

const pathValue = weighted<string>(
  [6, fc.constantFrom('1', '2', '3', '4')],
  [2, fc.constantFrom('999', '2147483647', '2147483648', '0', '-1', '01', '1e3', '1.0', '0x1', '99999999999999999999')],
  [2, hostileString.map((text) => encode(text.slice(0, 300)))],
  [1, fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '%2F', '..%2F..%2Fpackage.json', '%2e%2e', ' 1'.replace(' ', '%20'), `1;${CANARY}`)],
)

const assetName = weighted<string>([3, fc.constantFrom(...swaggerAssetNames)], [2, pathValue], [1, fc.constantFrom('..%2Fpackage.json', 'index.html')])

function pathFor(endpoint: Endpoint): fc.Arbitrary<string> {
  if (!endpoint.path.includes(':')) return fc.constant(endpoint.path)
  const value = endpoint.path.includes(':file') ? assetName : pathValue
  return value.map((segment) => endpoint.path.replace(/:\w+/g, segment))
}

/** A URL carries bytes: a lone surrogate cannot be sent, so it becomes U+FFFD as a client would make it. */
const encode = (text: string) => encodeURIComponent(text.toWellFormed())

const encodeQueryValue = (value: string) =>
  weighted<string>([4, fc.constant(encode(value))], [1, fc.constant(value.toWellFormed().replace(/[#&\s]/g, encodeURIComponent))])

function queryFor(endpoint: Endpoint): fc.Arbitrary<string> {
  const known = Object.entries(endpoint.query ?? {})
  const names = [...known.map(([name]) => name), '__proto__', 'constructor', 'q[]', `${CANARY}param`, 'limit']
  const pair = fc.constantFrom(...names).chain((name) => {
    // hasOwn: `endpoint.query['__proto__']` would be Object.prototype.
    const plausible = endpoint.query && Object.hasOwn(endpoint.query, name) ? endpoint.query[name] : undefined
    const value = plausible ? weighted<unknown>([3, plausible], [2, hostileString]) : hostileString
    return value.chain((v) => encodeQueryValue(String(v)).map((encoded) => `${encodeURIComponent(name)}=${encoded}`))
  })
  return weighted<string>([2, fc.constant('')], [5, fc.array(pair, { minLength: 1, maxLength: 4 }).map((pairs) => `?${pairs.join('&')}`)])
}

/** Plausible parameters, and at most one hostile value among them. */
function focusedQuery(endpoint: Endpoint): fc.Arbitrary<string> {
  const query = endpoint.query ?? {}
  const known = Object.keys(query)
  if (known.length === 0) return fc.constant('')
  return fc.tuple(fc.subarray(known), fc.option(fc.tuple(fc.constantFrom(...known), hostileString))).chain(([chosen, hostile]) =>
    fc.tuple(...chosen.map((name) => query[name]!)).map((values) => {
      const params = new Map(chosen.map((name, index) => [name, String(values[index])]))
      if (hostile) params.set(hostile[0], hostile[1])
      const pairs = [...params].map(([name, value]) => `${name}=${encode(value)}`)
      return pairs.length ? `?${pairs.join('&')}` : ''
    }),
  )
}

type Who = 'anonymous' | 'garbage' | keyof Seeded

const now = Math.floor(Date.now() / 1000)
/** Correctly signed tokens whose `sub` is no user id, or whose `iat` is beyond the clock leeway. */
const OUT_OF_RANGE_TOKENS = await Promise.all(
  [
    { sub: '2147483648' }, { sub: '99999999999999999999' }, { sub: '0' }, { sub: '-1' }, { sub: '1e3' },
    { sub: '1', iat: now + 3600 }, { sub: '1', iat: now + 365 * 86400 },
  ].map(async ({ iat, ...claims }) => {
    const token = await new SignJWT({ role: 'admin', ver: 0, iss: 'inventory-api', aud: 'inventory-api', ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(iat ?? now)
      .setExpirationTime(now + 3600)
      .sign(new TextEncoder().encode(process.env.JWT_SECRET))
    return `Bearer ${token}`
  }),
)

/** Headers carry bytes 0x20-0xFF (and tab) only: keep what a client could actually send. */
const headerText = (text: string) => text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '').trim().slice(0, 2000)

const garbageAuthorization = weighted<string>(
  [3, hostileString.map((text) => headerText(`Basic ${Buffer.from(`${text}:${text}`).toString('base64')}`))],
  [2, fc.constantFrom('Basic', 'Basic ', 'Basic ====', 'Basic Zq7Cnry', 'Bearer', 'Bearer ', 'Bearer Zq7Cnry', 'Digest Zq7Cnry', 'Zq7Cnry')],
  [1, hostileString.map((text) => headerText(`Bearer ${text}`))],
  // alg "none", and a token signed with another key.
  [
    1,
    fc.constantFrom(
      'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjF9.',
      'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjF9.c2lnbmF0dXJl',
    ),
  ],
  [1, fc.constant(`Basic ${Buffer.from(`admin:${'x'.repeat(10_000)}`).toString('base64')}`)],
  // Signed with the server's own key, with claims it must still refuse.
  [1, fc.constantFrom(...OUT_OF_RANGE_TOKENS)],
)

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.api+json', 'application/json; charset=latin1',
  'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'json', '', `application/${CANARY}`,
]

interface Generated {
  who: Who
  via: 'basic' | 'bearer'
  garbage: string
  contentType: string | undefined
  idempotencyKey: string | undefined
  requestId: string | undefined
  extraHeader: [string, string] | undefined
}

const headerArbs = fc.record<Generated>({
  who: fc.constantFrom<Who>('anonymous', 'garbage', 'admin', 'manager', 'customer', 'other'),
  via: fc.constantFrom('basic', 'bearer'),
  garbage: garbageAuthorization,
  contentType: weighted<string | undefined>([6, fc.constant('application/json')], [3, fc.constantFrom(...CONTENT_TYPES)], [1, fc.constant(undefined)]),
  idempotencyKey: weighted<string | undefined>(
    [4, fc.constant(undefined)],
    [2, fc.constantFrom('key-1', 'key-2')],
    [2, hostileString.map(headerText)],
    [1, fc.constantFrom('', ' ', 'k'.repeat(255), 'k'.repeat(256), 'é\u00ff')],
  ),
  requestId: weighted<string | undefined>(
    [3, fc.constant(undefined)],
    [1, fc.constantFrom('abc-123.XYZ', 'r'.repeat(128))],
    [2, hostileString.map(headerText)],
  ),
  extraHeader: weighted<[string, string] | undefined>(
    [3, fc.constant(undefined)],
    [1, fc.tuple(fc.constantFrom('origin', 'cookie', 'x-forwarded-for', 'accept', 'host-override', 'x-http-method-override'), hostileString.map(headerText))],
  ),
})

interface Case {
  path: string
  search: string
  body: string | Uint8Array | undefined
  generated: Generated
}

const SEEDED_ROLES: Record<keyof Seeded, Role> = { admin: 'admin', manager: 'manager', customer: 'customer', other: 'customer' }

/**
 * Half the cases are chaos (anything anywhere, by anyone); the other half come from a role the
 * route admits, with a JSON body that is plausible but for one value, so that the hostile value
 * gets past the guards and the parser into validation, the services and the database.
 */
function caseFor(endpoint: Endpoint): fc.Arbitrary<Case> {
  const chaos = fc.record<Case>({ path: pathFor(endpoint), search: queryFor(endpoint), body: bodyFor(endpoint), generated: headerArbs })
  const admitted = (Object.keys(SEEDED_ROLES) as Array<keyof Seeded>).filter((who) => allows(endpoint.access, SEEDED_ROLES[who]))
  const focused = fc.record<Case>({
    path: pathFor(endpoint),
    search: focusedQuery(endpoint),
    body: endpoint.method === 'GET' ? fc.constant(undefined) : endpoint.body ? focusedBody(endpoint.body) : fc.constant(undefined),
    generated: fc
      .tuple(headerArbs, fc.constantFrom(...admitted))
      .map(([generated, who]) => ({ ...generated, who, contentType: 'application/json' })),
  })
  return fc.oneof(chaos, focused)
}

// ---------------------------------------------------------------- the world each case runs against

let users: Seeded
const tokens = {} as Record<keyof Seeded, string>
let worldState: Record<string, string>
/** The database as the last case left it (snapshotted after every case). */
let lastState: Record<string, string>

/** Four users (one per role, plus a second customer), two categories, three products (one deleted), two orders. */
async function buildWorld() {
  users = await resetDatabase()
  const tools = await insertCategory('Tools')
  await insertCategory('Garden', 'Outdoor things.')
  const drill = await insertProduct({ name: 'Drill', stock: 50, threshold: 5 })
  await insertProduct({ name: 'Saw', stock: 3 })
  const gone = await insertProduct({ name: 'Gone', stock: 7 })
  await query('INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)', [drill, tools])
  await query('UPDATE products SET deleted_at = now() WHERE id = $1', [gone])
  for (const who of ['customer', 'other'] as const) {
    const placed = await call('POST', '/orders', { as: users[who], body: { product_id: drill, quantity: 2 } })
    if (placed.status !== 201) throw new Error(`fixture order failed: ${placed.text}`)
  }
  worldState = await snapshot()
  lastState = worldState
}

beforeAll(async () => {
  await buildWorld()
  // Ids restart with the world and token versions stay 0, so these tokens outlive every rebuild.
  for (const who of ['admin', 'manager', 'customer', 'other'] as const) tokens[who] = await tokenFor(users[who])
}, 30_000) // hooks default to 5 s whatever bunfig says; a loaded machine needs more

// ---------------------------------------------------------------- one case

const KNOWN_STATUSES = new Set([200, 201, 204, 400, 401, 403, 404, 409, 413, 415, 429])

/** Failures the body parser produces before any guard runs: they legitimately come first. */
const BODY_LEVEL_ERRORS = new Set([
  'Invalid input|The request body is not valid JSON.',
  'Invalid input|The request body is not valid UTF-8.',
  'Invalid input|The request body is nested too deeply (at most 32 levels).',
  'Invalid input|The request body has too many items (at most 20000).',
  'Unsupported media type',
  'Payload too large',
])
const isBodyLevel = (body: { error: string; message: string }) =>
  BODY_LEVEL_ERRORS.has(body.error) || BODY_LEVEL_ERRORS.has(`${body.error}|${body.message}`)

const allows = (access: Access, role: Role) => access === 'auth' || access === 'public' || access === 'optional' || access.includes(role)

/** The string values of a 2xx body that may legitimately repeat what was submitted: a resource's own text. */
const ECHO_FIELDS = new Set(['name', 'description', 'username', 'product_name', 'sku', 'note'])

function collectEchoes(value: unknown, key: string | undefined, found: string[]) {
  if (typeof value === 'string') {
    if (containsCanary(value) && !ECHO_FIELDS.has(key ?? '')) found.push(`${key}: ${value.slice(0, 80)}`)
  } else if (Array.isArray(value)) value.forEach((item) => collectEchoes(item, key, found))
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collectEchoes(v, k, found)
}

async function runCase(endpoint: Endpoint, path: string, search: string, body: string | Uint8Array | undefined, generated: Generated) {
  // A success may have changed the world; the next case starts from the same one again.
  if (JSON.stringify(lastState) !== JSON.stringify(worldState)) await buildWorld()
  // Failed password checks are throttled per username; each case starts with a clean slate.
  await resetLoginThrottle()

  const headers = new Headers()
  const { who, via } = generated
  if (who === 'garbage') headers.set('authorization', generated.garbage)
  else if (who !== 'anonymous') {
    headers.set(
      'authorization',
      via === 'bearer' ? `Bearer ${tokens[who]}` : `Basic ${Buffer.from(`${users[who].username}:${users[who].password}`).toString('base64')}`,
    )
  }
  if (body !== undefined && generated.contentType !== undefined) headers.set('content-type', generated.contentType)
  if (generated.idempotencyKey !== undefined) headers.set('idempotency-key', generated.idempotencyKey)
  if (generated.requestId !== undefined) headers.set('x-request-id', generated.requestId)
  if (generated.extraHeader) headers.set(...generated.extraHeader)

  const before = lastState
  const response = await app.handle(new Request(`http://localhost${path}${search}`, { method: endpoint.method, headers, body }))
  const text = await response.text()
  const status = response.status
  const context = `${endpoint.method} ${path}${search.slice(0, 200)} as ${who} → ${status} ${text.slice(0, 300)}`

  const after = await snapshot()
  lastState = after

  assertNoSecrets(text)
  expect(KNOWN_STATUSES.has(status), context).toBe(true)
  expect(status < 500, context).toBe(true)
  expect(response.headers.get('x-content-type-options'), context).toBe('nosniff')
  const sentId = generated.requestId
  const echoedId = response.headers.get('x-request-id')
  if (sentId !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(sentId)) expect(echoedId, context).toBe(sentId)
  else expect(echoedId, context).toMatch(/^[0-9a-f-]{36}$/)
  // Headers never carry the input back (the request id only when it is a valid one, checked above).
  for (const [name, value] of response.headers) if (name !== 'x-request-id') expect(containsCanary(value), `${context} header ${name}`).toBe(false)

  if (status >= 400) {
    expect(response.headers.get('content-type'), context).toStartWith('application/json')
    const error = JSON.parse(text)
    expect(Object.keys(error).sort(), context).toEqual(['error', 'message'])
    expect(typeof error.error === 'string' && error.error.length > 0, context).toBe(true)
    expect(typeof error.message === 'string' && error.message.length > 0, context).toBe(true)
    expect(containsCanary(text), `echoed input: ${context}`).toBe(false)
    // One sentence of ours, not a library's default wording ("Invalid input: expected string, received null").
    expect(error.message, context).not.toMatch(/^Invalid input: |^Invalid option|^Too (big|small)|received /)
    expect(error.message, context).toMatch(/[.!?]$/)
    expect(after, `a ${status} changed the database: ${context}`).toEqual(before)

    // Guards: anonymous and garbage credentials never pass a protected route; a role never passes another's.
    if (!isBodyLevel(error) && error.error !== 'Not Found') {
      const protectedRoute = endpoint.access !== 'public' && endpoint.access !== 'optional'
      if ((who === 'anonymous' && protectedRoute) || (who === 'garbage' && endpoint.access !== 'public' && endpoint.path !== '/login')) {
        expect(status, context).toBe(401)
      } else if (who !== 'anonymous' && who !== 'garbage' && !allows(endpoint.access, users[who].role)) {
        expect(status, context).toBe(403)
      }
    }
  } else {
    expect(body instanceof Uint8Array, `a body that is not UTF-8 was accepted: ${context}`).toBe(false)
    const protectedRoute = endpoint.access !== 'public' && endpoint.access !== 'optional'
    if (protectedRoute) expect(who === 'anonymous' || who === 'garbage', `unauthenticated success: ${context}`).toBe(false)
    if (who !== 'anonymous' && who !== 'garbage') expect(allows(endpoint.access, users[who].role), `role passed a guard: ${context}`).toBe(true)
    if (status === 204) expect(text, context).toBe('')
    const contentType = response.headers.get('content-type') ?? ''
    if (contentType.startsWith('application/json')) {
      const echoes: string[] = []
      collectEchoes(JSON.parse(text), undefined, echoes)
      expect(echoes, `echoed input outside a resource field: ${context}`).toEqual([])
    } else if (status !== 204) {
      // Only Swagger UI's page and assets, the metrics text and the CSV export are not JSON; none repeats the request.
      expect(/^\/(swagger|metrics)/.test(endpoint.path) || endpoint.path === '/products/export', context).toBe(true)
      expect(containsCanary(text), context).toBe(false)
    }
    if (endpoint.method === 'GET') expect(after, `a GET changed the database: ${context}`).toEqual(before)
  }

  // JSON.parse never assigns prototypes, and nothing downstream may either.
  expect(Object.keys(Object.prototype), 'Object.prototype was polluted').toEqual([])
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
}

// ---------------------------------------------------------------- the properties

describe('fuzzing every endpoint', () => {
  test('the table covers every route the app serves', () => {
    const served = app.routes.map((route) => `${route.method} ${route.path}`).sort()
    expect(ENDPOINTS.map((endpoint) => `${endpoint.method} ${endpoint.path}`).sort()).toEqual(served)
  })

  for (const endpoint of ENDPOINTS) {
    const name = `${endpoint.method} ${endpoint.path}: never a 5xx, errors are {error, message}, no echo, a 4xx changes nothing`
    // Routes with a body or a path id have the most to explore; static pages need few cases.
    const numRuns = /^\/(swagger|health|metrics)/.test(endpoint.path) ? 10 : 25
    test(name, async () => {
      const property = fc.asyncProperty(caseFor(endpoint), async ({ path, search, body, generated }) =>
        runCase(endpoint, path, search, body, generated),
      )
      await checkProperty(name, FILE, property, numRuns)
    }, 120_000)
  }

  test('concurrent wrong passwords for one username, by /login and Basic mixed: LOGIN_MAX_FAILURES are verified, the rest 429', async () => {
    const name = 'concurrent wrong passwords: LOGIN_MAX_FAILURES verified, the rest 429'
    const property = fc.asyncProperty(
      fc.integer({ min: 1, max: 60 }),
      fc.constantFrom('admin', 'customer', 'Customer', 'nobody'),
      fc.array(fc.constantFrom('login-json', 'login-basic', 'basic-route'), { minLength: 1, maxLength: 3 }),
      async (guesses, username, ways) => {
        await resetLoginThrottle()
        const statuses = await Promise.all(
          Array.from({ length: guesses }, async (_, i) => {
            const password = `guess-${i}`
            const way = ways[i % ways.length]
            const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
            const response =
              way === 'login-json'
                ? await call('POST', '/login', { body: { username, password } })
                : await call(way === 'login-basic' ? 'POST' : 'GET', way === 'login-basic' ? '/login' : '/products', { as: { header: basic } })
            if (response.status === 429) expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0)
            return response.status
          }),
        )
        const verified = Math.min(guesses, config.LOGIN_MAX_FAILURES)
        expect(statuses.filter((status) => status === 401).length, `${guesses} guesses for ${username} by ${ways}`).toBe(verified)
        expect(statuses.filter((status) => status === 429).length).toBe(guesses - verified)
      },
    )
    await checkProperty(name, FILE, property, 10)
    await resetLoginThrottle()
  }, 120_000)

  test('unknown methods and paths → 404 Not Found as JSON', async () => {
    const name = 'unknown methods and paths → 404 Not Found as JSON'
    const property = fc.asyncProperty(
      fc.constantFrom('PATCH', 'OPTIONS', 'PROPFIND', 'POST', 'DELETE'),
      fc.oneof(fc.constantFrom('/nope', '/products/1/nope', '/health', '/users/1/orders', '//products', '/PRODUCTS'), hostileString.map((text) => `/${encode(text.slice(0, 200))}`)),
      async (method, path) => {
        const response = await app.handle(new Request(`http://localhost${path}`, { method }))
        const text = await response.text()
        expect(response.status, `${method} ${path}: ${text}`).toBe(404)
        expect(JSON.parse(text)).toEqual({ error: 'Not Found', message: 'No such route.' })
      },
    )
    await checkProperty(name, FILE, property, 30)
  })
})
