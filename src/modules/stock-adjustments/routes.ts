import { Elysia } from 'elysia'
import { z } from 'zod'
import { errorResponses, invalidId, JSON_BODY_ERRORS } from '../../http/error-responses'
import { conflict, HttpError, invalidInput, notFound } from '../../http/errors'
import { authPlugin } from '../auth/plugin'
import { IDEMPOTENCY_CONFLICTS, idempotencyKeyHeaders, reply } from '../idempotency/idempotency'
import { productParams, stockMovementSchema } from '../products/schemas'
import type { PublicStockMovement } from '../products/sql'
import { STOCK_MAX } from '../products/sql'
import { adjustmentBody, bulkAdjustmentBody, MAX_BULK_ITEMS } from './schemas'
import { adjustProductStock, adjustStockInBulk, atItem } from './service'

const IDEMPOTENCY = 'With an `Idempotency-Key` header (1–255 characters, per user, kept 24 hours) a repeat with the same body replays the first response (header `Idempotent-Replayed: true`) and changes nothing; the same key with another body, or while the first request is still running, is a 409.'

export const stockAdjustmentRoutes = new Elysia({ tags: ['Stock adjustments'] })
  .use(authPlugin)
  .post(
    '/products/:id/stock-adjustments',
    async ({ params, body, headers, user, set }) =>
      reply<PublicStockMovement>(set, await adjustProductStock(user.id, params.id, body, headers['idempotency-key'])),
    {
      role: ['manager', 'admin'],
      params: productParams,
      headers: idempotencyKeyHeaders,
      body: adjustmentBody,
      response: {
        201: stockMovementSchema,
        ...errorResponses(
          invalidInput('Stock cannot go below zero: 3 in stock, delta -5.'),
          invalidInput('Adjustment delta must not be zero.'),
          invalidInput('Adjustment reason must be one of: restock, return, damage, loss, count, correction.'),
          invalidInput(`Stock cannot go above ${STOCK_MAX}: 999999990 in stock, delta 20.`),
          invalidId('Product ID'),
          ...JSON_BODY_ERRORS,
          notFound('Product', 42),
          conflict('The stock is 7, not the expected 9.'),
          ...IDEMPOTENCY_CONFLICTS,
        ),
      },
      detail: {
        summary: "Adjust a product's stock",
        description: `Managers and admins. Changes the stock by \`delta\` (a non-zero integer) for a \`reason\` (\`restock\`, \`return\`, \`damage\`, \`loss\`, \`count\`, \`correction\`), with an optional \`note\`, as one ledger movement, returned with 201. A result below zero is a 400 and changes nothing. \`expected_stock\` makes it a compare-and-set: when the stock is no longer that number, 409 Conflict and nothing changes (e.g. a count correction: \`{"delta": -2, "reason": "count", "expected_stock": 25}\`). Taking the stock below the low-stock threshold records an alert, as an order does. ${IDEMPOTENCY}`,
      },
    },
  )
  .post(
    '/stock-adjustments',
    async ({ body, headers, user, set }) =>
      reply<{ items: PublicStockMovement[] }>(set, await adjustStockInBulk(user.id, body, headers['idempotency-key'])),
    {
      role: ['manager', 'admin'],
      headers: idempotencyKeyHeaders,
      body: bulkAdjustmentBody,
      response: {
        201: z.object({ items: z.array(stockMovementSchema) }).meta({ description: "The items' movements, in the items' order." }),
        ...errorResponses(
          atItem(3, invalidInput('Stock cannot go below zero: 3 in stock, delta -5.')),
          atItem(2, invalidInput('Send either product_id or sku.')),
          invalidInput(`Adjustment items must contain at most ${MAX_BULK_ITEMS} items.`),
          ...JSON_BODY_ERRORS,
          atItem(3, notFound('Product', 42)),
          atItem(4, new HttpError(404, 'Product not found', 'There is no product with this SKU.')),
          atItem(3, conflict('The stock is 7, not the expected 9.')),
          ...IDEMPOTENCY_CONFLICTS,
        ),
      },
      detail: {
        summary: 'Adjust the stock of many products',
        description: `Managers and admins. 1–${MAX_BULK_ITEMS} items, each naming a product by \`product_id\` or \`sku\`, with the fields of a single adjustment. All or nothing: the first failing item's error, its message starting with its position ("Item 3: …"), and nothing applied. A product may appear more than once and is judged on the sum of its deltas (and \`expected_stock\` against its stock before the request). Rows are locked in product-id order, so concurrent requests never deadlock. → 201 with one movement per item, in the items' order. ${IDEMPOTENCY}`,
      },
    },
  )
