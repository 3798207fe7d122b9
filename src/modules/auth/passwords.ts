import { config } from '../../config'

// argon2id; the defaults are OWASP's minimum (19 MiB, 2 passes). Tests lower them through the env.
const options = {
  algorithm: 'argon2id',
  memoryCost: config.PASSWORD_MEMORY_KIB,
  timeCost: config.PASSWORD_TIME_COST,
} as const

/**
 * At most PASSWORD_HASH_CONCURRENCY argon2 computations at once, the rest queue in order. Each one
 * holds PASSWORD_MEMORY_KIB while it runs, so without a bound memory grows with the number of
 * concurrent logins; with one about the number of cores, memory stays flat and the CPU is no less busy.
 */
let running = 0
const queue: Array<() => void> = []

async function bounded<T>(work: () => Promise<T>): Promise<T> {
  if (running < config.PASSWORD_HASH_CONCURRENCY) running++
  else await new Promise<void>((resolve) => queue.push(resolve))
  try {
    return await work()
  } finally {
    // The slot passes straight to the next in line, if any.
    const next = queue.shift()
    if (next) next()
    else running--
  }
}

export const hashPassword = (password: string) => bounded(() => Bun.password.hash(password, options))

let dummyHash: Promise<string> | undefined

/**
 * Verifies a password against a stored hash, or against a throwaway hash when there is no user,
 * so that "unknown user" and "wrong password" cost the same.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  if (hash === undefined) {
    dummyHash ??= hashPassword(crypto.randomUUID())
    const dummy = await dummyHash
    await bounded(() => Bun.password.verify(password, dummy))
    return false
  }
  return bounded(() => Bun.password.verify(password, hash))
}
