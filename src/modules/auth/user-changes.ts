import { Client } from 'pg'
import type { EntityManager } from 'typeorm'
import { databaseUrl } from '../../db/data-source'
import { log } from '../../http/logger'

const CHANNEL = 'user_changed'

type ListenerState = 'off' | 'up' | 'down'
let state: ListenerState = 'off'
const subscribers = new Set<(userId: number | undefined) => void>()

/** Auth caches may only be trusted while no other process could change a user unseen. */
export const cachesTrusted = () => state !== 'down'

/** Registers a callback for user changes: an id, or undefined for "anything may have changed". */
export function onUserChange(callback: (userId: number | undefined) => void) {
  subscribers.add(callback)
}

const emit = (userId: number | undefined) => subscribers.forEach((callback) => callback(userId))

/**
 * Announces a change to a user inside the transaction that makes it: PostgreSQL delivers the
 * notification on commit, to every process (workers, replicas) that listens.
 */
export async function announceUserChange(manager: EntityManager, userId: number) {
  await manager.query('SELECT pg_notify($1, $2)', [CHANNEL, String(userId)])
}

/** Forgets a changed user in this process at once, so its very next request already sees the change. */
export const forgetLocally = (userId: number) => emit(userId)

/**
 * Listens for user changes made by other processes. While the connection is down the caches are
 * bypassed (and emptied), so a stale cache can never outlive a missed notification.
 */
export function listenForUserChanges(): () => Promise<void> {
  let client: Client | undefined
  let stopped = false
  let retry: Timer | undefined

  const goDown = (reason: string) => {
    if (stopped || state === 'down') return
    state = 'down'
    emit(undefined)
    log.warn('user-change listener disconnected; auth caches bypassed', { reason })
    client?.end().catch(() => {})
    retry = setTimeout(connect, 1000)
  }

  async function connect() {
    if (stopped) return
    client = new Client({ connectionString: databaseUrl, application_name: 'inventory-api-listener' })
    client.on('error', (error) => goDown(error.message))
    client.on('end', () => goDown('connection ended'))
    client.on('notification', (message) => {
      const id = Number(message.payload)
      emit(Number.isInteger(id) ? id : undefined)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
      emit(undefined) // anything may have changed while we were not listening
      state = 'up'
    } catch (error) {
      state = 'up' // let goDown run its course
      goDown(error instanceof Error ? error.message : String(error))
    }
  }

  state = 'down'
  void connect()
  return async () => {
    stopped = true
    clearTimeout(retry)
    state = 'off'
    await client?.end().catch(() => {})
  }
}
