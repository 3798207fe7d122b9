import { Client } from 'pg'
import type { EntityManager } from 'typeorm'
import { destroyConnection } from '../../db/bounded-client'
import { databaseUrl } from '../../db/data-source'
import { log } from '../../http/logger'

const CHANNEL = 'user_changed'
/**
 * A frozen or partitioned server ends no connection (and its kernel still answers TCP keepalives):
 * the listener asks it a question this often, and counts it gone when no answer comes in time.
 */
const CHECK_EVERY_MS = 5000
const CHECK_TIMEOUT_MS = 2000

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
  let check: Timer | undefined

  const goDown = (reason: string) => {
    if (stopped || state === 'down') return
    state = 'down'
    emit(undefined)
    log.warn('user-change listener disconnected; auth caches bypassed', { reason })
    clearInterval(check)
    if (client) destroyConnection(client) // not end(): a polite goodbye waits for a server that may not answer
    retry = setTimeout(connect, 1000)
  }

  async function connect() {
    if (stopped) return
    client = new Client({
      connectionString: databaseUrl,
      application_name: 'inventory-api-listener',
      connectionTimeoutMillis: CHECK_TIMEOUT_MS,
      query_timeout: CHECK_TIMEOUT_MS,
    })
    const listening = client
    // A client given up on may still report its end; only the current one counts.
    client.on('error', (error) => listening === client && goDown(error.message))
    client.on('end', () => listening === client && goDown('connection ended'))
    client.on('notification', (message) => {
      const id = Number(message.payload)
      emit(Number.isInteger(id) ? id : undefined)
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
      emit(undefined) // anything may have changed while we were not listening
      state = 'up'
      check = setInterval(() => {
        listening.query('SELECT 1').catch((error: Error) => goDown(`check failed: ${error.message}`))
      }, CHECK_EVERY_MS)
      check.unref()
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
    clearInterval(check)
    state = 'off'
    if (client) destroyConnection(client) // it holds no transaction: nothing to wait for from the server
  }
}
