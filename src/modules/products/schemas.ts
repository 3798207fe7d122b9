import { z } from 'zod'
import { pagination, pageSchema } from '../../http/pagination'
import { fieldMessages, freeText, integer, pathId, queryInteger, text } from '../../http/validation'
import { MOVEMENT_REASONS } from './stock-movement.entity'
import { STOCK_MAX } from './sql'

const PRICE_MAX = 9_999_999_999.99
/** numeric(12,2): up to 10 integer digits and 2 decimals, no sign, no exponent. */
const DECIMAL = /^\d{1,10}(\.\d{1,2})?$/

const priceError = fieldMessages('Product price')
const categoryIdsError = fieldMessages('Category IDs')
const categoryIdError = fieldMessages('Each category ID')

const SKU_CHARACTERS = /^[A-Za-z0-9_.-]+$/
export const skuText = (label: string) =>
  text(label, 1, 64).regex(SKU_CHARACTERS, { error: `${label} may contain only letters, digits, "_", "." and "-".` })

const sku = skuText('Product SKU')
  .nullable()
  .meta({ description: 'Optional stock-keeping unit: 1–64 letters, digits, `_`, `.`, `-`, unique regardless of case; `null` for none.', example: 'DRL-18V-02' })

export const name = text('Product name', 1, 200).meta({ description: '1–200 characters.', example: 'Cordless drill' })

export const description = freeText('Product description', 2000)
  .nullable()
  .meta({ description: 'Free text, up to 2000 characters; `null` for none.', example: '18 V, two batteries.' })

// String(value) is the shortest text that reads back as the same double, so 0.1 passes and
// 0.1 + 0.2 (0.30000000000000004) or 1.005 do not: what is accepted is stored exactly.
export const price = z
  .number({ error: priceError })
  .min(0, { error: priceError })
  .max(PRICE_MAX, { error: priceError })
  .refine((value) => DECIMAL.test(String(value)), { error: 'Product price must have at most 2 decimal places.' })
  .meta({ description: `A JSON number, 0–${PRICE_MAX}, at most 2 decimal places; stored exactly.`, example: 89.9 })

export const stock = integer('Product stock', 0, STOCK_MAX)

export const lowStockThreshold = integer('Low-stock threshold', 0, STOCK_MAX).meta({
  description: 'Below this stock the product is low on stock: crossing it records an alert.',
  example: 10,
})

const categoryIds = z
  .array(z.int({ error: categoryIdError }).min(1, { error: categoryIdError }).max(2_147_483_647, { error: categoryIdError }), {
    error: categoryIdsError,
  })
  .max(50, { error: categoryIdsError })
  .refine((ids) => new Set(ids).size === ids.length, { error: 'Category IDs must not contain duplicates.' })
  .meta({ description: 'IDs of existing categories (at most 50); an unknown one is a 404.', example: [1, 3] })

// Both keys stay optional here: "stock or its alias stock_quantity is required" is checked by the
// service, since zod could only say it with a transform, which the OpenAPI document cannot show.
export const createProductBody = z.object({
  sku: sku.optional(),
  name,
  description: description.optional(),
  price,
  stock: stock.optional().meta({ description: 'Units in stock, 0–1000000000. Required (or `stock_quantity`).', example: 25 }),
  stock_quantity: stock.optional().meta({ description: 'Alias of `stock`; `stock` wins when both are sent.' }),
  low_stock_threshold: lowStockThreshold.optional(),
  category_ids: categoryIds.optional(),
}).meta({
  example: {
    sku: 'DRL-18V-02',
    name: 'Cordless drill',
    description: '18 V, two batteries.',
    price: 89.9,
    stock: 25,
    low_stock_threshold: 10,
    category_ids: [3],
  },
})

export const updateProductBody = z
  .object({
    sku: sku.optional().meta({ description: 'A new SKU, or `null` to remove it.' }),
    name: name.optional(),
    description: description.optional(),
    price: price.optional(),
    stock: stock.optional().meta({ description: 'The new number of units in stock (recorded as an adjustment).', example: 5 }),
    stock_quantity: stock.optional().meta({ description: 'Alias of `stock`; `stock` wins when both are sent.' }),
    low_stock_threshold: lowStockThreshold.optional(),
    category_ids: categoryIds.optional().meta({ description: 'Replaces the set of categories.' }),
  })
  .meta({ description: 'Any subset of the fields; the others keep their value.', example: { price: 79.9, stock: 5 } })

export const productSchema = z
  .object({
    id: z.int(),
    sku: z.string().nullable(),
    name: z.string(),
    description: z.string().nullable(),
    price: z.number(),
    stock: z.int(),
    low_stock_threshold: z.int(),
    categories: z.array(z.object({ id: z.int(), name: z.string() })),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({
    description: 'A product, with its current stock and its categories.',
    example: {
      id: 12,
      sku: 'DRL-18V-02',
      name: 'Cordless drill',
      description: '18 V, two batteries.',
      price: 89.9,
      stock: 25,
      low_stock_threshold: 10,
      categories: [{ id: 3, name: 'Power tools' }],
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:00.000Z',
    },
  })

export const PRODUCT_SORTS = ['name', '-name', 'price', '-price', 'stock', '-stock', 'created_at', '-created_at'] as const
export type ProductSort = (typeof PRODUCT_SORTS)[number]

const decimalQuery = (parameter: string) => {
  const error = `Query parameter ${parameter} must be a number between 0 and ${PRICE_MAX} with at most 2 decimal places.`
  // The type error too: a repeated parameter arrives as an array.
  return z.string({ error }).regex(DECIMAL, { error })
}

const booleanQuery = (parameter: string) =>
  z.enum(['true', 'false'], { error: fieldMessages(`Query parameter ${parameter}`) }).transform((value) => value === 'true')

export const productListQuery = z.object({
  ...pagination,
  sku: skuText('Query parameter sku')
    .optional()
    .meta({ description: 'The product with exactly this SKU, regardless of case (at most one).' }),
  q: freeText('Query parameter q', 200)
    .optional()
    .meta({
      description:
        'Case-insensitive search for this text anywhere in the name or description (`amp` finds "Lamp"). A term matching many products costs what counting them does (exact up to 10,000).',
    }),
  category_id: queryInteger('Query parameter category_id', 1, 2_147_483_647)
    .optional()
    .meta({ description: 'Only products linked to this category.' }),
  min_price: decimalQuery('min_price').optional().meta({ description: 'Only products at this price or more.' }),
  max_price: decimalQuery('max_price').optional().meta({ description: 'Only products at this price or less.' }),
  in_stock: booleanQuery('in_stock').optional().meta({ description: '`true`: stock > 0; `false`: stock = 0.' }),
  low_stock: booleanQuery('low_stock').optional().meta({ description: '`true`: stock below its low-stock threshold.' }),
  sort: z
    .enum(PRODUCT_SORTS, { error: fieldMessages('Query parameter sort') })
    .optional()
    .meta({ description: 'A field, `-` first for descending; ties (and the default) go by id ascending.' }),
})

export const stockMovementSchema = z
  .object({
    id: z.int(),
    product_id: z.int(),
    delta: z.int(),
    stock_after: z.int(),
    reason: z.enum(MOVEMENT_REASONS).meta({
      description: '`initial` (creation), `adjustment` (a PUT of `stock`), `order`, `import` (CSV), or the reason of a stock adjustment.',
    }),
    note: z.string().nullable().meta({ description: "The stock adjustment's note; `null` for none." }),
    user_id: z.int().nullable(),
    order_id: z.int().nullable(),
    created_at: z.iso.datetime(),
  })
  .meta({
    description: "One change of a product's stock.",
    example: { id: 41, product_id: 12, delta: -3, stock_after: 22, reason: 'order', note: null, user_id: 7, order_id: 19, created_at: '2026-01-31T12:00:00.000Z' },
  })

export const productParams = pathId('Product ID')
export const productPage = pageSchema(productSchema)
export const stockMovementListQuery = z.object(pagination)
export const stockMovementPage = pageSchema(stockMovementSchema)
