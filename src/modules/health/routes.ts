import { Elysia } from 'elysia'
import { z } from 'zod'
import { dataSource } from '../../db/data-source'
import { errorResponses } from '../../http/error-responses'
import { HttpError } from '../../http/errors'
import { quietRequest } from '../../http/request-context'

const notReady = () => new HttpError(503, 'Service Unavailable', 'The database is not reachable.')

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
        await dataSource.query('SELECT 1')
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
      detail: { summary: 'Readiness', description: 'The database answers: 200, else 503. No authentication.', security: [] },
    },
  )
