import pg from 'pg'

/** How much longer than the server's statement_timeout the client waits for an answer. */
export const CLIENT_TIMEOUT_MARGIN_MS = 500

const READ_TIMEOUT = 'Query read timeout'

/** Cuts a client's socket at once: unlike end(), it waits for nothing from the server. */
export function destroyConnection(client: pg.Client) {
  ;(client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
}

type Callback = (error: Error | null, result?: unknown) => void

/**
 * A pg Client whose timed-out queries end their connection. pg's `query_timeout` fails the query
 * but keeps the connection, still waiting for the reply that a frozen or unreachable server never
 * sends, and the pool would lend it again (a transaction's ROLLBACK included, which would hang
 * behind it). Destroying the socket makes the client unqueryable: the pool drops it on release and
 * lends a fresh connection next time, so the process recovers by itself once the server answers.
 */
export class BoundedClient extends pg.Client {
  override query(...args: unknown[]): any {
    const run = super.query as (...args: unknown[]) => any
    const last = args.length - 1
    const callback = args[last]
    if (typeof callback === 'function') {
      args[last] = (error: Error | null, result?: unknown) => {
        this.dropIfTimedOut(error)
        ;(callback as Callback)(error, result)
      }
      return run.apply(this, args)
    }
    const result = run.apply(this, args)
    if (result instanceof Promise) result.catch((error: Error) => this.dropIfTimedOut(error))
    return result
  }

  private dropIfTimedOut(error: Error | null) {
    if (error?.message === READ_TIMEOUT) destroyConnection(this)
  }
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms` (the promise itself runs on). */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: Timer | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
