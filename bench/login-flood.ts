/**
 * `login-flood` (BENCH_ONLY=login-flood): a real user's first login, idle and while another
 * client address floods the API with wrong passwords for unknown usernames. Every measured login
 * is a user's first (a new user each time), so each costs a real argon2id verification.
 *
 * The client addresses are told through X-Forwarded-For, the bench's API trusting 127.0.0.1
 * (TRUSTED_PROXIES). The bench lifts the failure limits (LOGIN_MAX_FAILURES,
 * LOGIN_ADDRESS_MAX_FAILURES), so that the flood keeps costing verifications for its whole
 * length: the row measures the fair turns of the argon2 queue, not the cut-off after 100 failures.
 */
import type { Client } from 'pg'
import { loadConfig } from '../src/config'
import { runWrk, type WrkResult } from './lib/wrk'

export const LOGIN_FLOOD_KEY = 'login-flood'
export const LOGIN_FLOOD_API_ENV = { TRUSTED_PROXIES: '127.0.0.1', LOGIN_MAX_FAILURES: '1000', LOGIN_ADDRESS_MAX_FAILURES: '1000000' }

const LOGINS = 15
const FLOOD_CONNECTIONS = 64
const FLOOD_ADDRESS = '203.0.113.66'
const USER_ADDRESS = '198.51.100.7'
const PASSWORD = 'login-flood-password'
const basic = (username: string, password: string) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

export interface LoginFlood {
  idleMs: number[]
  floodMs: number[]
  idleMedianMs: number
  floodMedianMs: number
  flood: WrkResult
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

async function seedLoginUsers(db: Client) {
  const defaults = loadConfig({})
  const hash = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id', memoryCost: defaults.PASSWORD_MEMORY_KIB, timeCost: defaults.PASSWORD_TIME_COST })
  await db.query(
    `INSERT INTO users (username, password_hash, role) SELECT 'login-user-' || i, $1, 'customer' FROM generate_series(1, $2::int) i ON CONFLICT DO NOTHING`,
    [hash, 2 * LOGINS],
  )
}

async function timedLogin(apiUrl: string, user: number): Promise<number> {
  const started = performance.now()
  const response = await fetch(`${apiUrl}/login`, {
    method: 'POST',
    headers: { authorization: basic(`login-user-${user}`, PASSWORD), 'x-forwarded-for': USER_ADDRESS },
  })
  await response.arrayBuffer()
  if (response.status !== 200) throw new Error(`login of login-user-${user} answered ${response.status}`)
  return performance.now() - started
}

export async function measureLoginFlood(db: Client, wrk: string, apiUrl: string, progress: (line: string) => void): Promise<LoginFlood> {
  await seedLoginUsers(db)
  progress(`${LOGIN_FLOOD_KEY}: ${LOGINS} first logins, idle`)
  const idleMs: number[] = []
  for (let i = 1; i <= LOGINS; i++) idleMs.push(await timedLogin(apiUrl, i))

  // 1,000 unknown usernames, so that no two flood requests share a credential (they would share one check).
  const credentials = Array.from({ length: 1000 }, (_, i) => JSON.stringify(basic(`flood-${i}`, 'wrong-password')))
  progress(`${LOGIN_FLOOD_KEY}: ${FLOOD_CONNECTIONS} connections of wrong passwords from ${FLOOD_ADDRESS}, until the logins below are done`)
  const done = new AbortController()
  const flooding = runWrk(
    wrk,
    apiUrl,
    {
      method: 'GET',
      path: '"/products/1"',
      headers: {},
      headerTable: `(function() local c = {${credentials.join(',')}}; return { ["Authorization"] = c[math.random(#c)], ["X-Forwarded-For"] = ${JSON.stringify(FLOOD_ADDRESS)} } end)()`,
    },
    FLOOD_CONNECTIONS,
    600,
    done.signal,
  )
  await Bun.sleep(2000) // the flood's queue fills first
  progress(`${LOGIN_FLOOD_KEY}: ${LOGINS} first logins from ${USER_ADDRESS} during the flood`)
  const floodMs: number[] = []
  for (let i = LOGINS + 1; i <= 2 * LOGINS; i++) floodMs.push(await timedLogin(apiUrl, i))
  done.abort()
  const flood = await flooding
  return { idleMs, floodMs, idleMedianMs: median(idleMs), floodMedianMs: median(floodMs), flood }
}
