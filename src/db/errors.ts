import { QueryFailedError } from 'typeorm'

/** The SQLSTATE of a failed query, when the database answered with one. */
export const pgErrorCode = (error: unknown): string | undefined =>
  error instanceof QueryFailedError ? (error.driverError as { code?: string } | undefined)?.code : undefined

export const isUniqueViolation = (error: unknown) => pgErrorCode(error) === '23505'

/** character_not_in_repertoire, untranslatable_character: the input holds text PostgreSQL refuses. */
export const isUnstorableText = (error: unknown) => ['22021', '22P05'].includes(pgErrorCode(error) ?? '')

/**
 * Runs a write, turning a unique violation into the caller's domain error (the spec's 409 with a
 * message naming what is taken); any other failure passes through.
 */
export async function onUniqueViolation<T>(write: () => Promise<T>, error: () => Error): Promise<T> {
  try {
    return await write()
  } catch (failure) {
    if (isUniqueViolation(failure)) throw error()
    throw failure
  }
}
