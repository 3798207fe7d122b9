import { config } from '../../config'

// argon2id; the defaults are OWASP's minimum (19 MiB, 2 passes). Tests lower them through the env.
const options = {
  algorithm: 'argon2id',
  memoryCost: config.PASSWORD_MEMORY_KIB,
  timeCost: config.PASSWORD_TIME_COST,
} as const

export const hashPassword = (password: string) => Bun.password.hash(password, options)

let dummyHash: Promise<string> | undefined

/**
 * Verifies a password against a stored hash, or against a throwaway hash when there is no user,
 * so that "unknown user" and "wrong password" cost the same.
 */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  if (hash === undefined) {
    dummyHash ??= hashPassword(crypto.randomUUID())
    await Bun.password.verify(password, await dummyHash)
    return false
  }
  return Bun.password.verify(password, hash)
}
