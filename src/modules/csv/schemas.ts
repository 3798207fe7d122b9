import { z } from 'zod'
import { description, lowStockThreshold, name, price, productListQuery, skuText, stock } from '../products/schemas'

export const IMPORT_COLUMNS = ['sku', 'name', 'description', 'price', 'stock', 'low_stock_threshold', 'categories'] as const
export type ImportColumn = (typeof IMPORT_COLUMNS)[number]
export const REQUIRED_IMPORT_COLUMNS: readonly ImportColumn[] = ['sku', 'name']
/** The export's columns that an import accepts and ignores, so that an export imports back as it is. */
export const IGNORED_IMPORT_COLUMNS = ['id', 'created_at', 'updated_at'] as const
export type HeaderColumn = ImportColumn | (typeof IGNORED_IMPORT_COLUMNS)[number]

/** A product category cell holds at most this many names, as `category_ids` holds at most 50 ids. */
export const MAX_CATEGORIES_PER_ROW = 50

/**
 * One data row, after its cells became values (an empty cell is no value, numbers are parsed):
 * the product schemas' own rules and messages. Fields in column order, so the first issue is the
 * first bad field of the row.
 */
export const importRow = z.object({
  sku: skuText('Product SKU'),
  name,
  description: description.optional(),
  price: price.optional(),
  stock: stock.optional(),
  low_stock_threshold: lowStockThreshold.optional(),
})
export type ImportRow = z.output<typeof importRow>

export const exportQuery = productListQuery.omit({ limit: true, offset: true })

export const importQuery = z.object({
  dry_run: z
    .enum(['true', 'false'], { error: 'Query parameter dry_run must be true or false.' })
    .default('false')
    .transform((value) => value === 'true')
    .meta({ description: '`true`: validate the file and count what would change, writing nothing.' }),
})

export const importResult = z
  .object({
    created: z.int().meta({ description: 'Rows whose SKU matched no product: new products.' }),
    updated: z.int().meta({ description: 'Rows that changed the product with their SKU.' }),
    unchanged: z.int().meta({ description: 'Rows identical to the product with their SKU.' }),
    dry_run: z.boolean().meta({ description: '`true`: nothing was written; the counts are what the import would do.' }),
  })
  .meta({
    description: 'What the import did (in a dry run: would do), counted in rows.',
    example: { created: 2, updated: 1, unchanged: 40, dry_run: false },
  })
export type ImportResult = z.output<typeof importResult>

/** The example file of the OpenAPI document: a header, a new product, an update, quoting. */
export const IMPORT_EXAMPLE = [
  'sku,name,description,price,stock,low_stock_threshold,categories',
  'DRL-18V-02,Cordless drill,"18 V, two batteries.",89.90,25,10,Power tools',
  'SAW-CIRC-7,Circular saw,"7"" blade\nwith guide",129.00,4,5,Power tools|Saws',
  '',
].join('\r\n')
