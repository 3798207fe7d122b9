import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { errorHandler } from './http/error-handler'
import { requestContext } from './http/request-context'
import { authRoutes } from './modules/auth/routes'
import { categoryRoutes } from './modules/categories/routes'
import { healthRoutes } from './modules/health/routes'
import { productRoutes } from './modules/products/routes'
import { userRoutes } from './modules/users/routes'

/** The whole HTTP surface, without listening: tests drive it through app.handle(). */
export function createApp() {
  return new Elysia()
    .use(errorHandler)
    .use(requestContext)
    .use(
      openapi({
        path: '/swagger',
        provider: 'swagger-ui',
        // Requests are documented as clients send them: the input side of transforms (ids, query
        // numbers) is representable, where the default output side makes zod throw.
        mapJsonSchema: { zod: (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) },
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
    .use(healthRoutes)
    .use(authRoutes)
    .use(userRoutes)
    .use(categoryRoutes)
    .use(productRoutes)
}

export type App = ReturnType<typeof createApp>
