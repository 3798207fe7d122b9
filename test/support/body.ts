import type { z } from 'zod'
import type { errorSchema } from '../../src/http/validation'
import type { alertSchema } from '../../src/modules/alerts/schemas'
import type { tokenResponse } from '../../src/modules/auth/schemas'
import type { categorySchema } from '../../src/modules/categories/schemas'
import type { orderSchema } from '../../src/modules/orders/schemas'
import type { productSchema, stockMovementSchema } from '../../src/modules/products/schemas'
import type { userSchema } from '../../src/modules/users/schemas'
import type { createdWebhookSchema, deliverySchema } from '../../src/modules/webhooks/schemas'

/** Every JSON object the API answers with, as its schemas say (lists are the page below). */
type Bodies =
  | z.output<typeof alertSchema>
  | z.output<typeof categorySchema>
  | z.output<typeof errorSchema>
  | z.output<typeof orderSchema>
  | z.output<typeof productSchema>
  | z.output<typeof stockMovementSchema>
  | z.output<typeof tokenResponse>
  | z.output<typeof userSchema>
  | z.output<typeof createdWebhookSchema>
  | z.output<typeof deliverySchema>
  | { status: 'ok' | 'ready' }

type KeyOf<U> = U extends unknown ? keyof U : never
type FieldOf<U, K extends PropertyKey> = U extends unknown ? (K extends keyof U ? U[K] : never) : never
type Fields = { [K in KeyOf<Bodies>]?: FieldOf<Bodies, K> }

/**
 * The body type of `call()` when a test names none: one object with every field some response
 * can carry, so a test reading a field no response has (a typo) does not compile.
 */
export interface ApiBody extends Fields {
  items?: ApiBody[]
  total?: number
  total_exact?: boolean
  limit?: number
  offset?: number
  next_cursor?: string | null
}

/** The OpenAPI document, as far as the tests read it. */
export interface OpenApiDocument {
  openapi: string
  servers?: Array<{ url: string }>
  components: Record<string, any>
  paths: Record<string, any>
}
