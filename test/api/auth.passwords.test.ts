import { afterEach, expect, spyOn, test } from 'bun:test'
import { config } from '../../src/config'
import { verifyPassword } from '../../src/modules/auth/passwords'

let verify: ReturnType<typeof spyOn> | undefined
afterEach(() => verify?.mockRestore())

test('argon2 verifications run at most PASSWORD_HASH_CONCURRENCY at once; the others wait their turn', async () => {
  let inFlight = 0
  let maxInFlight = 0
  verify = spyOn(Bun.password, 'verify').mockImplementation(async () => {
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    await Bun.sleep(5)
    inFlight--
    return true
  })
  const results = await Promise.all(Array.from({ length: 12 }, () => verifyPassword('password', '$argon2id$stub')))
  expect(results).toEqual(Array(12).fill(true))
  expect(verify).toHaveBeenCalledTimes(12)
  expect(maxInFlight).toBe(config.PASSWORD_HASH_CONCURRENCY)
})

test('a failing verification gives its slot back', async () => {
  verify = spyOn(Bun.password, 'verify').mockImplementation(async () => {
    throw new Error('corrupt hash')
  })
  const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => verifyPassword('password', 'not-a-hash')))
  expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true)
  verify.mockRestore()
  verify = spyOn(Bun.password, 'verify').mockImplementation(async () => false)
  expect(await verifyPassword('password', '$argon2id$stub')).toBe(false)
})
