import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { errorHandler } from './http/error-handler'
import { requestContext } from './http/request-context'
import { swaggerUi } from './http/swagger-ui'
import { authRoutes } from './modules/auth/routes'
import { healthRoutes } from './modules/health/routes'
import { userRoutes } from './modules/users/routes'

/** The whole HTTP surface, without listening: tests drive it through app.handle(). */
export function createApp() {
  return new Elysia()
    .use(errorHandler)
    .use(requestContext)
    .use(
      openapi({
        path: '/swagger',
        // The UI page is served by swaggerUi() below, from local assets; the plugin serves /swagger/json.
        provider: null,
        mapJsonSchema: { zod: z.toJSONSchema },
        documentation: {
          info: {
            title: 'Inventory API',
            version: '1.0.0',
            description: 'Products, categories, orders that never oversell, stock movements and low-stock alerts.',
          },
          components: {
            securitySchemes: {
              basic: { type: 'http', scheme: 'basic' },
              bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
            },
          },
        },
      }),
    )
    .use(swaggerUi({ path: '/swagger', specPath: '/swagger/json', title: 'Inventory API' }))
    .use(healthRoutes)
    .use(authRoutes)
    .use(userRoutes)
}

export type App = ReturnType<typeof createApp>
