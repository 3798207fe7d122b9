/**
 * Idempotency-Key (Stripe's semantics), one mechanism for every operation that honours it
 * (POST /orders, stock adjustments): keys are per user and kept 24 hours; a repeat with the same
 * request replays the stored response; another request under the key, or a repeat while the first
 * is in flight, is a 409. The request a caller hashes names its operation (orders hash their body,
 * other operations `{operation, ...}`), so a key reused on another endpoint is "another request".
 */
import type { EntityManager } from 'typeorm'
import { z } from 'zod'
import { dataSource } from '../../db/data-source'
import { conflict } from '../../http/errors'
import { fieldMessages } from '../../http/validation'

export interface StoredResponse {
  status: number
  body: unknown
}

/** Keys are kept this long; an older key counts as never used. */
export const KEY_LIFETIME = '24 hours'

export const requestHash = (body: unknown) => new Bun.CryptoHasher('sha256').update(JSON.stringify(body)).digest('hex')

/**
 * Claims `key` for this user inside the caller's transaction (Stripe's semantics). Returns the
 * stored response when the same request was already completed, so the caller replays it;
 * returns undefined when the caller should run the request, holding the key until it commits.
 *
 * A transaction-scoped advisory lock marks the key as in flight: a concurrent repeat fails to
 * take it and gets 409 at once instead of waiting; a crash releases it with the connection.
 */
export async function claimIdempotencyKey(
  manager: EntityManager,
  userId: number,
  key: string,
  hash: string,
): Promise<StoredResponse | undefined> {
  const [{ locked }] = await manager.query('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked', [userId, key])
  if (!locked) throw conflict('A request with this Idempotency-Key is still in progress.')
  const [stored] = await manager.query(
    `SELECT request_hash, status_code, response_body FROM idempotency_keys
     WHERE user_id = $1 AND key = $2 AND created_at > now() - interval '${KEY_LIFETIME}'`,
    [userId, key],
  )
  if (!stored) return undefined
  if (stored.request_hash !== hash) throw conflict('This Idempotency-Key was already used with a different request.')
  return { status: stored.status_code, body: stored.response_body }
}

/** Stores the outcome in the same transaction as the order it describes (replacing an expired use). */
export async function storeIdempotentResponse(
  manager: EntityManager,
  userId: number,
  key: string,
  hash: string,
  response: StoredResponse,
) {
  await manager.query(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response_body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
       response_body = EXCLUDED.response_body, created_at = now()`,
    [userId, key, hash, response.status, JSON.stringify(response.body)],
  )
}

export interface Idempotent<T> {
  response: StoredResponse
  /** True when an earlier request with the same key is being replayed. */
  replayed: boolean
  /** What `perform` handed back besides its response (absent on a replay), for work after the commit. */
  result?: T
}

/**
 * Runs `perform` in one transaction with the key claimed and its response stored, so a retry after
 * any failure either replays the committed outcome or runs afresh: never twice for one key. A
 * failure (a thrown HttpError) stores nothing, so the request may be retried.
 */
export async function runIdempotently<T>(
  scope: { userId: number; key: string; request: unknown },
  perform: (manager: EntityManager) => Promise<{ response: StoredResponse; result: T }>,
): Promise<Idempotent<T>> {
  const hash = requestHash(scope.request)
  return dataSource.transaction(async (manager) => {
    const stored = await claimIdempotencyKey(manager, scope.userId, scope.key, hash)
    if (stored) return { response: stored, replayed: true }
    const { response, result } = await perform(manager)
    await storeIdempotentResponse(manager, scope.userId, scope.key, hash, response)
    return { response, replayed: false, result }
  })
}

/** The response of an idempotent operation: its status, `Idempotent-Replayed: true` on a replay, its body. */
export function reply<T>(set: { status?: number | string; headers: Record<string, unknown> }, outcome: { response: StoredResponse; replayed: boolean }): T {
  set.status = outcome.response.status
  if (outcome.replayed) set.headers['idempotent-replayed'] = 'true'
  return outcome.response.body as T
}

const keyMessages = fieldMessages('Idempotency-Key header')
export const idempotencyKeyHeaders = z.object({
  'idempotency-key': z
    .string({ error: keyMessages })
    .min(1, { error: keyMessages })
    .max(255, { error: keyMessages })
    .optional()
    .meta({ description: 'Optional, 1–255 characters. Retrying with the same key and body replays the first response instead of doing it twice.' }),
})

/** The 409s an operation with an Idempotency-Key can answer, for its documented responses. */
export const IDEMPOTENCY_CONFLICTS = [
  conflict('This Idempotency-Key was already used with a different request.'),
  conflict('A request with this Idempotency-Key is still in progress.'),
]

/** Deletes expired keys; run periodically by the server. */
export async function purgeExpiredIdempotencyKeys(manager: EntityManager): Promise<void> {
  await manager.query(`DELETE FROM idempotency_keys WHERE created_at <= now() - interval '${KEY_LIFETIME}'`)
}
