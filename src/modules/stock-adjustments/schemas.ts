import { z } from 'zod'
import { fieldMessages, freeText, integer } from '../../http/validation'
import { skuText } from '../products/schemas'
import { STOCK_MAX } from '../products/sql'
import { ADJUSTMENT_REASONS } from '../products/stock-movement.entity'

export const MAX_BULK_ITEMS = 1000

const deltaError = fieldMessages('Adjustment delta')
const reasonMessages = fieldMessages('Adjustment reason')
// A missing enum is zod's invalid_value, not the invalid_type that fieldMessages calls "required".
const reasonError = (issue: Parameters<typeof reasonMessages>[0]) => (issue.input === undefined ? 'Adjustment reason is required.' : reasonMessages(issue))

const adjustmentFields = {
  delta: z
    .int({ error: deltaError })
    .min(-STOCK_MAX, { error: deltaError })
    .max(STOCK_MAX, { error: deltaError })
    .refine((delta) => delta !== 0, { error: 'Adjustment delta must not be zero.' })
    .meta({ description: `The change of stock: a non-zero integer, −${STOCK_MAX}–${STOCK_MAX}.`, example: -3 }),
  reason: z.enum(ADJUSTMENT_REASONS, { error: reasonError }).meta({
    description: 'Why the stock changes; kept as the ledger movement\'s `reason`.',
    example: 'damage',
  }),
  note: freeText('Adjustment note', 500)
    .nullable()
    .optional()
    .meta({ description: 'Free text, up to 500 characters, kept on the movement.', example: 'Dropped by the forklift.' }),
  expected_stock: integer('Adjustment expected_stock', 0, STOCK_MAX)
    .optional()
    .meta({
      description: 'Compare-and-set: apply only if the stock is exactly this number now (else 409 and nothing changes).',
      example: 25,
    }),
}

export const adjustmentBody = z.object(adjustmentFields).meta({
  example: { delta: -3, reason: 'damage', note: 'Dropped by the forklift.', expected_stock: 25 },
})

const bulkItem = z
  .object({
    product_id: integer('Item product_id', 1, 2_147_483_647).optional().meta({ description: 'The product, by id…', example: 12 }),
    sku: skuText('Item sku').optional().meta({ description: '…or by SKU (regardless of case).', example: 'DRL-18V-02' }),
    ...adjustmentFields,
  }, { error: fieldMessages('The item') })
  .refine((item) => (item.product_id === undefined) !== (item.sku === undefined), {
    error: 'Send either product_id or sku.',
  })

const itemsError = fieldMessages('Adjustment items')
export const bulkAdjustmentBody = z
  .object({
    items: z
      .array(bulkItem, { error: itemsError })
      .min(1, { error: itemsError })
      .max(MAX_BULK_ITEMS, { error: itemsError })
      .meta({ description: `1–${MAX_BULK_ITEMS} adjustments, applied all or none; a product may appear more than once.` }),
  })
  .meta({
    example: {
      items: [
        { product_id: 12, delta: 20, reason: 'restock' },
        { sku: 'DRL-18V-02', delta: -1, reason: 'count', expected_stock: 8, note: 'Shelf count.' },
      ],
    },
  })

export type AdjustmentRequest = z.output<typeof adjustmentBody>
export type BulkAdjustmentRequest = z.output<typeof bulkAdjustmentBody>
