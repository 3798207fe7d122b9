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
 * The queue has a lane per client address, served in turn, and an address's lane runs at most
 * all slots but one: a flood from one address leaves a slot to the others, whose checks then wait
 * for no flood check to finish. Checks of no known address share one lane without that cap.
 */
let running = 0
const runningByLane = new Map<string, number>()
const waitingByLane = new Map<string, Array<() => void>>()
const ADDRESS_LANE_MAX = Math.max(1, config.PASSWORD_HASH_CONCURRENCY - 1)
const NO_ADDRESS = ''

const hasRoom = (lane: string) =>
  running < config.PASSWORD_HASH_CONCURRENCY && (lane === NO_ADDRESS || (runningByLane.get(lane) ?? 0) < ADDRESS_LANE_MAX)

function start(lane: string) {
  running++
  runningByLane.set(lane, (runningByLane.get(lane) ?? 0) + 1)
}

function finish(lane: string) {
  running--
  const left = runningByLane.get(lane)! - 1
  if (left > 0) runningByLane.set(lane, left)
  else runningByLane.delete(lane)
  // Free slots go to the first lanes in turn that may run one more; a served lane goes to the back.
  for (const [next, waiting] of waitingByLane) {
    if (!hasRoom(next)) continue
    waitingByLane.delete(next)
    const resume = waiting.shift()!
    if (waiting.length > 0) waitingByLane.set(next, waiting)
    start(next)
    resume()
    if (running >= config.PASSWORD_HASH_CONCURRENCY) break
  }
}

async function bounded<T>(work: () => Promise<T>, lane = NO_ADDRESS): Promise<T> {
  if (hasRoom(lane) && !waitingByLane.has(lane)) start(lane)
  else
    await new Promise<void>((resume) => {
      const waiting = waitingByLane.get(lane)
      if (waiting) waiting.push(resume)
      else waitingByLane.set(lane, [resume])
    })
  try {
    return await work()
  } finally {
    finish(lane)
  }
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
