import { Elysia } from 'elysia'
import { dataSource } from '../../db/data-source'

export const healthRoutes = new Elysia({ prefix: '/health', tags: ['Health'] })
  .get('', () => ({ status: 'ok' }), {
    detail: { summary: 'Liveness', description: 'The process is up. No authentication.' },
  })
  .get(
    '/ready',
    async ({ set }) => {
      try {
        await dataSource.query('SELECT 1')
        return { status: 'ready' }
      } catch {
        set.status = 503
        return { error: 'Service Unavailable', message: 'The database is not reachable.' }
      }
    },
    { detail: { summary: 'Readiness', description: 'The database answers: 200, else 503. No authentication.' } },
  )
