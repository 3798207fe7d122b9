import type { EntityManager } from 'typeorm'
import { conflict } from '../../http/errors'

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

/** Deletes expired keys; run periodically by the server. */
export async function purgeExpiredIdempotencyKeys(manager: EntityManager): Promise<void> {
  await manager.query(`DELETE FROM idempotency_keys WHERE created_at <= now() - interval '${KEY_LIFETIME}'`)
}
