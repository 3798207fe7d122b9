import { Elysia } from 'elysia'
import { log } from './logger'

interface RequestMeta {
  id: string
  startedAt: number
  userId?: number
  quiet?: boolean
}

const metas = new WeakMap<Request, RequestMeta>()
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The request path without the query string (which may carry values not meant for logs). */
export function pathOf(request: Request): string {
  const url = request.url
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const query = url.indexOf('?', start)
  return start < 0 ? '/' : url.slice(start, query < 0 ? undefined : query)
}

export const requestId = (request: Request) => metas.get(request)?.id

/** The status a response went out with (Elysia leaves it unset for a plain 200). */
export const responseStatus = (set: { status?: number | string }) => (typeof set.status === 'number' ? set.status : 200)

export function setRequestUser(request: Request, userId: number) {
  const meta = metas.get(request)
  if (meta) meta.userId = userId
}

/** Logs the request at debug level instead of info (static documentation assets). */
export function quietRequest(request: Request) {
  const meta = metas.get(request)
  if (meta) meta.quiet = true
}

/** Told of every answered request: its method, matched route template (none when no route matched), status and duration. */
export type RequestObserver = (method: string, route: string | undefined, status: number, seconds: number) => void

/**
 * Request id (echoed when the client sends a valid one), security and cache headers, and one
 * structured log line per request; `observe` (the metrics' request counting) is told of each
 * answered request from the same hook, so that counting costs no hook of its own.
 */
export const requestContext = (observe?: RequestObserver) =>
  new Elysia({ name: 'request-context', seed: observe ? 'observed' : 'unobserved' })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get('x-request-id')
      const id = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID()
      metas.set(request, { id, startedAt: performance.now() })
      set.headers['x-request-id'] = id
      set.headers['x-content-type-options'] = 'nosniff'
      // Responses are per user (credentials) and may hold tokens: no shared or browser cache keeps
      // them, unless a route says otherwise (Swagger UI's page and assets set their own).
      set.headers['cache-control'] = 'no-store'
      // The API never links anywhere; nothing of a URL leaks through a Referer either.
      set.headers['referrer-policy'] = 'no-referrer'
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set }) => {
      const meta = metas.get(request)
      if (!meta) return
      const status = responseStatus(set)
      const durationMs = performance.now() - meta.startedAt
      observe?.(request.method, route, status, durationMs / 1000)
      const write = meta.quiet ? log.debug : log.info
      write('request', {
        request_id: meta.id,
        method: request.method,
        path: pathOf(request),
        status,
        duration_ms: Math.round(durationMs * 100) / 100,
        user_id: meta.userId ?? null,
      })
    })
