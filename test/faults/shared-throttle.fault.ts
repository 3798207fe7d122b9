/**
 * Fault: an attacker spreads guesses over several API processes (WEB_CONCURRENCY, replicas).
 *
 * Two real server processes on one database. The failed-login allowance lives in PostgreSQL, so
 * the two together verify at most LOGIN_MAX_FAILURES guesses per username in a window, and at
 * most LOGIN_ADDRESS_MAX_FAILURES per client address, however the guesses are spread and however
 * many arrive at once. (A per-process count allowed N times as many.)
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { ApiProcess, errorBodyProblem, FaultDatabase, seedCustomers, send, type Customer } from './harness'

const MAX_FAILURES = 5
const ADDRESS_MAX_FAILURES = 8

let db: FaultDatabase
let first: ApiProcess
let second: ApiProcess
let customer: Customer

const settings = {
  LOGIN_MAX_FAILURES: String(MAX_FAILURES),
  LOGIN_ADDRESS_MAX_FAILURES: String(ADDRESS_MAX_FAILURES),
  LOGIN_LOCKOUT_SECONDS: '60',
  // The test names its clients through X-Forwarded-For, from the trusted loopback.
  TRUSTED_PROXIES: '127.0.0.1',
  PASSWORD_CHECKS_PER_ADDRESS: '64',
}

beforeAll(async () => {
  db = await FaultDatabase.create('throttle')
  first = await ApiProcess.start(db, settings)
  second = await ApiProcess.start(db, { ...settings, MIGRATIONS_RUN: 'false' })
  customer = (await seedCustomers(db, 1))[0]!
}, 60_000)

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()])
  await db?.destroy()
}, 60_000)

beforeEach(() => db.query('DELETE FROM login_throttle'))

const guess = (api: ApiProcess, username: string, password: string, address = '198.51.100.1') =>
  send(api.url, 'POST', '/login', { body: { username, password }, headers: { 'x-forwarded-for': address } })

test('50 guesses at once on each process: LOGIN_MAX_FAILURES are verified in all, the rest 429', async () => {
  const outcomes = await Promise.all(
    [first, second].flatMap((api, p) => Array.from({ length: 50 }, (_, i) => guess(api, customer.username, `guess-${p}-${i}`, `198.51.100.${i + 1}`))),
  )
  const statuses = outcomes.map((outcome) => outcome.reply?.status ?? outcome.error)
  expect(statuses.filter((status) => status === 401).length).toBe(MAX_FAILURES)
  expect(statuses.filter((status) => status === 429).length).toBe(100 - MAX_FAILURES)
  for (const outcome of outcomes) {
    expect(errorBodyProblem(outcome.reply!)).toBeUndefined()
    if (outcome.reply!.status === 429) expect(Number(outcome.reply!.headers.get('retry-after'))).toBeWithin(1, 61)
  }
})

test('failures alternated between the processes add up: the right password is then refused on either', async () => {
  for (let i = 0; i < MAX_FAILURES; i++) expect((await guess(i % 2 ? second : first, customer.username, `guess-${i}`)).reply?.status).toBe(401)
  const locked = await send(first.url, 'POST', '/login', { authorization: customer.authorization })
  expect(locked.reply?.status).toBe(429)
  expect(locked.reply?.body).toEqual({ error: 'Too many requests', message: 'Too many failed login attempts; try again later.' })
  expect((await send(second.url, 'GET', '/products', { authorization: customer.authorization })).reply?.status).toBe(429)
})

test('one address guessing many usernames through both processes is cut at LOGIN_ADDRESS_MAX_FAILURES', async () => {
  const statuses: number[] = []
  for (let i = 0; i < ADDRESS_MAX_FAILURES + 2; i++) statuses.push((await guess(i % 2 ? second : first, `nobody${i}`, 'wrong', '203.0.113.9')).reply!.status)
  expect(statuses).toEqual([...Array(ADDRESS_MAX_FAILURES).fill(401), 429, 429])
  // Another address is unaffected.
  expect((await guess(second, 'nobody0', 'wrong', '203.0.113.10')).reply?.status).toBe(401)
})
