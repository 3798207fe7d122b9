import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible'
import { config } from '../../config'
import { dataSource } from '../../db/data-source'
import { tooManyPasswordChecks, tooManyRequests } from '../../http/errors'

const TABLE = 'login_throttle' // created by a migration: the limiters run no DDL

/**
 * Failed password checks in PostgreSQL, so every process and replica shares one count; an
 * in-memory limiter stands in (per process) while the database does not answer.
 */
function sharedLimiter(keyPrefix: string, points: number) {
  const window = { points, duration: config.LOGIN_LOCKOUT_SECONDS, blockDuration: config.LOGIN_LOCKOUT_SECONDS }
  return new RateLimiterPostgres({
    ...window,
    keyPrefix,
    storeClient: dataSource, // its pool is looked up per query, so the limiter can exist before the DataSource connects
    storeType: 'typeorm',
    tableName: TABLE,
    tableCreated: true,
    insuranceLimiter: new RateLimiterMemory({ ...window, keyPrefix }),
  })
}

const byUsername = sharedLimiter('user', config.LOGIN_MAX_FAILURES)
const byAddress = sharedLimiter('address', config.LOGIN_ADDRESS_MAX_FAILURES)

/** Password checks waiting or running now per client address, in this process (whose argon2 queue they are in). */
const running = new Map<string, number>()

/** What the throttle can answer, for the OpenAPI document of every operation that checks a password. */
export const THROTTLE_ERRORS = [tooManyRequests(config.LOGIN_LOCKOUT_SECONDS), tooManyPasswordChecks(1)]

const retryAfter = (refusal: RateLimiterRes) => Math.max(1, Math.ceil(refusal.msBeforeNext / 1000))

export interface PasswordCheckPermit {
  /** The password was right: the username's failures are forgotten, the address's reservation handed back. */
  succeeded(): Promise<void>
  /** The password was wrong: the reserved failures stay counted. */
  failed(): void
  /** No verdict (the database failed): nothing is counted. */
  cancelled(): Promise<void>
}

/**
 * Reserves one failed check for the username and for the client address *before* the password is
 * verified: however many guesses arrive at once, at most LOGIN_MAX_FAILURES per username (and
 * LOGIN_ADDRESS_MAX_FAILURES per address) are verified in a window. One address may also have at
 * most PASSWORD_CHECKS_PER_ADDRESS checks waiting or running here (its lane of the argon2 queue,
 * see passwords.ts), so a flood from it neither grows the queue without end nor holds others back.
 * Refusals are 429 with Retry-After.
 */
export async function reservePasswordCheck(username: string, address: string | undefined): Promise<PasswordCheckPermit> {
  const user = username.toLowerCase()
  if (address !== undefined) {
    const now = running.get(address) ?? 0
    if (now >= config.PASSWORD_CHECKS_PER_ADDRESS) throw tooManyPasswordChecks(1)
    running.set(address, now + 1)
  }
  const release = () => {
    if (address === undefined) return
    const left = running.get(address)! - 1
    if (left > 0) running.set(address, left)
    else running.delete(address)
  }
  const [userReservation, addressReservation] = await Promise.allSettled([
    byUsername.consume(user),
    address === undefined ? Promise.resolve(undefined) : byAddress.consume(address),
  ])
  const giveBack = async (username: boolean, client: boolean) => {
    await Promise.all([username ? byUsername.reward(user, 1) : undefined, client && address !== undefined ? byAddress.reward(address, 1) : undefined])
  }
  if (userReservation.status === 'rejected' || addressReservation.status === 'rejected') {
    release()
    // No check happens: the side that did reserve gets its point back.
    await giveBack(userReservation.status === 'fulfilled', addressReservation.status === 'fulfilled')
    const refusal = userReservation.status === 'rejected' ? userReservation.reason : (addressReservation as PromiseRejectedResult).reason
    if (!(refusal instanceof RateLimiterRes)) throw refusal // the store and its insurance both failed
    throw userReservation.status === 'rejected' ? tooManyRequests(retryAfter(refusal)) : tooManyPasswordChecks(retryAfter(refusal))
  }
  return {
    async succeeded() {
      release()
      await Promise.all([byUsername.delete(user), address === undefined ? undefined : byAddress.reward(address, 1)])
    },
    failed: release,
    async cancelled() {
      release()
      await giveBack(true, true)
    },
  }
}

/** Test hook: forget every shared count. */
export async function resetLoginThrottle() {
  running.clear()
  await dataSource.query(`DELETE FROM ${TABLE}`)
}
