import { z } from 'zod'
import { pagination, pageSchema } from '../../http/pagination'

export const alertSchema = z
  .object({
    id: z.int(),
    product_id: z.int(),
    product_name: z.string(),
    stock: z.int().meta({ description: 'Stock right after the change that crossed the threshold.' }),
    threshold: z.int().meta({ description: "The product's low-stock threshold at that moment." }),
    order_id: z.int().nullable().meta({ description: 'The order that caused it; null for a stock update.' }),
    created_at: z.iso.datetime(),
  })
  .meta({
    description: 'A low-stock alert.',
    example: {
      id: 3,
      product_id: 1,
      product_name: 'Product A',
      stock: 9,
      threshold: 10,
      order_id: 42,
      created_at: '2026-01-31T12:00:00.000Z',
    },
  })

export const alertListQuery = z.object(pagination)
export const alertPage = pageSchema(alertSchema)
