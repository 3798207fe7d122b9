import { config } from '../../config'
import { unauthorized } from '../../http/errors'
import { isPossibleUsername, PASSWORD_LENGTH } from '../users/username'
import type { Role } from '../users/user.entity'
import { findAuthUserById, findAuthUserByName, type AuthUser } from '../users/service'
import { decodeBasic } from './credentials'
import { reservePasswordCheck, resetLoginThrottle } from './throttle'
import { verifyPassword } from './passwords'
import { cachesTrusted, onUserChange } from './user-changes'

export interface Principal {
  id: number
  username: string
  role: Role
  tokenVersion: number
}

const principalOf = ({ id, username, role, tokenVersion }: AuthUser): Principal => ({ id, username, role, tokenVersion })

export const invalidCredentials = () => unauthorized('Invalid username or password.')

/** Users by id, cached briefly: every Bearer and cached-Basic request needs the current row. */
const userCache = new Map<number, { user: AuthUser | undefined; expiresAt: number }>()

export async function currentUser(id: number): Promise<AuthUser | undefined> {
  const cached = userCache.get(id)
  if (cached && cached.expiresAt > Date.now() && cachesTrusted()) return cached.user
  const user = await findAuthUserById(id)
  if (config.AUTH_CACHE_TTL_SECONDS > 0 && cachesTrusted()) {
    userCache.set(id, { user, expiresAt: Date.now() + config.AUTH_CACHE_TTL_SECONDS * 1000 })
  }
  return user
}

/**
 * Successful password verifications, keyed by an HMAC under a per-process random key of the
 * credentials (the encoded Basic text, or username and password): the password is never kept.
 * An entry only counts while the user's stored hash is still the one it was verified against, so a password change or deletion ends it at once.
 */
const verified = new Map<string, { userId: number; username: string; passwordHash: string; expiresAt: number }>()
const VERIFIED_MAX = 10_000
// Copies of one keyed hasher: the HMAC key schedule is computed once, not per request.
const keyedHasher = new Bun.CryptoHasher('sha256', crypto.getRandomValues(new Uint8Array(32)))
const credentialKey = (text: string) => keyedHasher.copy().update(text).digest('base64')

// A remembered verification serves only credentials that were right, so it verifies no guess and
// passes no throttle: a username locked by someone else's guesses does not lock out its owner's session.
async function recall(key: string): Promise<Principal | undefined> {
  const hit = verified.get(key)
  if (!hit || hit.expiresAt <= Date.now() || !cachesTrusted()) return undefined
  const user = await currentUser(hit.userId)
  if (user && user.passwordHash === hit.passwordHash) return principalOf(user)
  verified.delete(key)
  return undefined
}

async function verifyAndRemember(key: string, username: string, password: string, address: string | undefined): Promise<Principal> {
  // Credentials no account can have are refused before the lookup and the throttle: a Basic
  // username is otherwise unbounded (throttle memory) and may hold U+0000, which PostgreSQL
  // cannot even receive. Only public format rules are revealed by answering sooner.
  if (!isPossibleUsername(username) || password.length > PASSWORD_LENGTH.max) throw invalidCredentials()
  const permit = await reservePasswordCheck(username, address)
  let user: AuthUser | undefined
  try {
    user = await findAuthUserByName(username)
    if (!(await verifyPassword(password, user?.passwordHash, address))) user = undefined
  } catch (error) {
    // An outage is no wrong password: it must not lock anyone out.
    await permit.cancelled().catch(() => {})
    throw error
  }
  if (!user) {
    permit.failed()
    throw invalidCredentials()
  }
  await permit.succeeded()
  if (config.AUTH_CACHE_TTL_SECONDS > 0) {
    if (verified.size >= VERIFIED_MAX) verified.clear()
    verified.set(key, {
      userId: user.id,
      username,
      passwordHash: user.passwordHash,
      expiresAt: Date.now() + config.AUTH_CACHE_TTL_SECONDS * 1000,
    })
  }
  return principalOf(user)
}

/**
 * Checks of the same credentials that are running now: a burst of requests with one credential
 * (a client after a restart, with every cache cold) waits for one verification instead of queueing
 * one each, and the same guess sent many times at once is one guess.
 */
const checking = new Map<string, Promise<Principal>>()

function verifyOnce(key: string, username: string, password: string, address: string | undefined): Promise<Principal> {
  const running = checking.get(key)
  if (running) return running
  const check = verifyAndRemember(key, username, password, address).finally(() => checking.delete(key))
  checking.set(key, check)
  return check
}

/** `address`: the client's (see clientAddress), for the per-address limits; undefined when unknown. */
export async function authenticatePassword(username: string, password: string, address: string | undefined): Promise<Principal> {
  const key = credentialKey(`password\0${username.toLowerCase()}\0${password}`)
  return (await recall(key)) ?? verifyOnce(key, username, password, address)
}

/**
 * Basic credentials as they arrive (base64 of "user:password"): a recent verification is found
 * from the encoded text itself, so a warm Basic request decodes nothing and hashes one short string.
 */
export async function authenticateBasic(encoded: string, address: string | undefined): Promise<Principal> {
  const key = credentialKey(`basic\0${encoded}`)
  const remembered = await recall(key)
  if (remembered) return remembered
  const { username, password } = decodeBasic(encoded)
  return verifyOnce(key, username, password, address)
}

/** The user a verified token names, if it still exists and the token predates no password or role change. */
export async function principalFromToken(userId: number, tokenVersion: unknown): Promise<Principal | undefined> {
  const user = await currentUser(userId)
  if (!user || user.tokenVersion !== tokenVersion) return undefined
  return principalOf(user)
}

// After a password, role or deletion change the next request re-reads the user; a stale
// verification then no longer matches the stored hash.
onUserChange((id) => {
  if (id !== undefined) return void userCache.delete(id)
  userCache.clear()
  verified.clear()
})

/** Test hook: forget every cached user, verification and throttle entry. */
export async function clearAuthCaches() {
  userCache.clear()
  verified.clear()
  await resetLoginThrottle()
}
