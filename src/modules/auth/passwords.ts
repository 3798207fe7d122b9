import { config } from '../../config'

// argon2id; the defaults are OWASP's minimum (19 MiB, 2 passes). Tests lower them through the env.
const options = {
  algorithm: 'argon2id',
  memoryCost: config.PASSWORD_MEMORY_KIB,
  timeCost: config.PASSWORD_TIME_COST,
} as const

/**
 * At most PASSWORD_HASH_CONCURRENCY argon2 computations at once, the rest queue. Each one
 * holds PASSWORD_MEMORY_KIB while it runs, so without a bound memory grows with the number of
 * concurrent logins; with one about the number of cores, memory stays flat and the CPU is no less busy.
 * The queue has a lane per client address, served in turn, so that a flood from one address
 * delays another's check by about one computation, not by the whole flood.
 */
let running = 0
const lanes = new Map<string, Array<() => void>>()

async function bounded<T>(work: () => Promise<T>, lane = ''): Promise<T> {
  if (running < config.PASSWORD_HASH_CONCURRENCY) running++
  else
    await new Promise<void>((resolve) => {
      const waiting = lanes.get(lane)
      if (waiting) waiting.push(resolve)
      else lanes.set(lane, [resolve])
    })
  try {
    return await work()
  } finally {
    handOnSlot()
  }
}

/** The slot passes straight to the first lane in turn, which then goes to the back of the rotation. */
function handOnSlot() {
  const [lane, waiting] = lanes.entries().next().value ?? []
  if (lane === undefined || !waiting) return void running--
  lanes.delete(lane)
  const next = waiting.shift()!
  if (waiting.length > 0) lanes.set(lane, waiting)
  next()
}

export const hashPassword = (password: string) => bounded(() => Bun.password.hash(password, options))

let dummyHash: Promise<string> | undefined

/**
 * Verifies a password against a stored hash, or against a throwaway hash when there is no user,
 * so that "unknown user" and "wrong password" cost the same. `lane`: the client address, if known.
 */
export async function verifyPassword(password: string, hash: string | undefined, lane?: string): Promise<boolean> {
  if (hash === undefined) {
    dummyHash ??= hashPassword(crypto.randomUUID())
    const dummy = await dummyHash
    await bounded(() => Bun.password.verify(password, dummy), lane)
    return false
  }
  return bounded(() => Bun.password.verify(password, hash), lane)
}
