import { z } from 'zod'
import { HttpError } from '../../http/errors'
import { pagination, pageSchema } from '../../http/pagination'
import { integer, pathId } from '../../http/validation'
import { ORDER_STATUSES } from './order.entity'

/** The spec asks for a bound on order quantity: a mistyped quantity cannot take a whole warehouse at once. */
export const MAX_ORDER_QUANTITY = 10_000

export const invalidStatus = () =>
  new HttpError(400, 'Invalid status', "Order status must be either 'Pending' or 'Completed'.")

export const createOrderBody = z.object({
  product_id: integer('Order product_id', 1, 2_147_483_647).meta({ description: 'The product to order.', example: 1 }),
  quantity: integer('Order quantity', 1, MAX_ORDER_QUANTITY).meta({
    description: `Units to take from stock, 1–${MAX_ORDER_QUANTITY}.`,
    example: 2,
  }),
})

// A wrong status has its own error in the spec, not `Invalid input`: the schema's error throws it,
// so it leaves validation as that HttpError (after the role check, which runs in transform).
const throwInvalidStatus = (): never => {
  throw invalidStatus()
}

export const updateStatusBody = z.object(
  {
    status: z
      .enum(ORDER_STATUSES, { error: throwInvalidStatus })
      .meta({ description: 'Exactly `Pending` or `Completed`.', example: 'Completed' }),
  },
  { error: throwInvalidStatus },
)

export const orderSchema = z
  .object({
    id: z.int(),
    product_id: z.int(),
    user_id: z.int().nullable().meta({ description: 'Null once the ordering user has been deleted.' }),
    quantity: z.int(),
    status: z.enum(ORDER_STATUSES),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({
    description: 'An order.',
    example: {
      id: 42,
      product_id: 1,
      user_id: 7,
      quantity: 2,
      status: 'Pending',
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:00.000Z',
    },
  })

export const orderParams = pathId('Order ID')
export const orderListQuery = z.object(pagination)
export const orderPage = pageSchema(orderSchema)
