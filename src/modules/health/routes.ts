import { Elysia } from 'elysia'
import { z } from 'zod'
import { withDeadline } from '../../db/bounded-client'
import { dataSource } from '../../db/data-source'
import { errorResponses } from '../../http/error-responses'
import { HttpError } from '../../http/errors'
import { quietRequest } from '../../http/request-context'

const notReady = () => new HttpError(503, 'Service Unavailable', 'The database is not reachable.')

/** Readiness answers within this, even while the database does not (load balancers time out at 2 s and more). */
const READINESS_TIMEOUT_MS = 1000

export const healthRoutes = new Elysia({ prefix: '/health', tags: ['Health'] })
  // Probed every few seconds per replica by the container engine and load balancers: logged at debug only.
  .onBeforeHandle(({ request }) => quietRequest(request))
  .get('', () => ({ status: 'ok' as const }), {
    response: { 200: z.object({ status: z.literal('ok') }).meta({ description: 'The process is up.' }) },
    detail: { summary: 'Liveness', description: 'The process is up. No authentication.', security: [] },
  })
  .get(
    '/ready',
    async () => {
      try {
        await withDeadline(dataSource.query('SELECT 1'), READINESS_TIMEOUT_MS, notReady)
      } catch {
        throw notReady()
      }
      return { status: 'ready' as const }
    },
    {
      response: {
        200: z.object({ status: z.literal('ready') }).meta({ description: 'The database answers.' }),
        ...errorResponses(notReady()),
      },
      detail: { summary: 'Readiness', description: `The database answers within ${READINESS_TIMEOUT_MS} ms: 200, else 503. No authentication.`, security: [] },
    },
  )
