import { config } from '../../config'
import { tooManyRequests } from '../../http/errors'

interface Entry {
  failures: number
  lockedUntil: number
}

const MAX_TRACKED = 10_000
const entries = new Map<string, Entry>()

/**
 * Per-username throttle of failed password checks (login and Basic alike): after
 * LOGIN_MAX_FAILURES failures the username is locked for LOGIN_LOCKOUT_SECONDS. In memory, per process.
 */
export const loginThrottle = {
  assertAllowed(username: string, now = Date.now()) {
    if (entries.size === 0) return // the usual case, and on every cached Basic request
    const entry = entries.get(username.toLowerCase())
    if (entry && entry.lockedUntil > now) throw tooManyRequests(Math.ceil((entry.lockedUntil - now) / 1000))
  },

  recordFailure(username: string, now = Date.now()) {
    const key = username.toLowerCase()
    const entry = entries.get(key) ?? { failures: 0, lockedUntil: 0 }
    entry.failures += 1
    if (entry.failures >= config.LOGIN_MAX_FAILURES) {
      entry.failures = 0
      entry.lockedUntil = now + config.LOGIN_LOCKOUT_SECONDS * 1000
    }
    entries.delete(key)
    entries.set(key, entry)
    if (entries.size > MAX_TRACKED) entries.delete(entries.keys().next().value!)
  },

  recordSuccess(username: string) {
    entries.delete(username.toLowerCase())
  },

  reset() {
    entries.clear()
  },
}
