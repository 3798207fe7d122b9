import { parse, CsvError } from 'csv-parse'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { EntityManager } from 'typeorm'
import { config } from '../../config'
import { dataSource } from '../../db/data-source'
import type { CsvBody } from '../../http/json-body'
import { HttpError, invalidInput } from '../../http/errors'
import { logLowStock, type LowStockCrossing } from '../products/stock'
import { restoreFormula } from './cells'
import { IGNORED_IMPORT_COLUMNS, IMPORT_COLUMNS, importRow, MAX_CATEGORIES_PER_ROW, REQUIRED_IMPORT_COLUMNS, type HeaderColumn, type ImportColumn, type ImportResult, type ImportRow } from './schemas'
import {
  CATEGORIES_BY_NAME,
  INSERT_ALERTS,
  INSERT_CATEGORY_LINKS,
  INSERT_MOVEMENTS,
  INSERT_PRODUCTS,
  PRODUCTS_BY_SKU,
  UNLINK_CATEGORIES,
  UPDATE_PRODUCTS,
} from './sql'

/** Rows as the user sees them in a spreadsheet: the header is row 1, the first product row 2. */
const rowError = (row: number, message: string) => invalidInput(`Row ${row}: ${message}`)

/** A data row as read: its values, and the category names of its `categories` cell, if any. */
interface ParsedRow {
  row: number
  values: ImportRow
  categories?: string[]
}

interface ParsedFile {
  columns: Set<HeaderColumn>
  rows: ParsedRow[]
  /** The first bad row of the file, met while reading it; the rows before it are in `rows`. */
  failure?: HttpError
}

const CSV_PROBLEMS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'A quoted field is not closed.',
  CSV_INVALID_CLOSING_QUOTE: 'A quote inside a quoted field must be doubled.',
  INVALID_OPENING_QUOTE: 'A field that holds a quote must be quoted, its quotes doubled.',
}

const UNKNOWN_COLUMN = `Unknown column; the columns are ${IMPORT_COLUMNS.join(', ')} (and the export's ${IGNORED_IMPORT_COLUMNS.join(', ')}, ignored).`

function headerColumns(header: string[]): HeaderColumn[] {
  const known = new Set<string>([...IMPORT_COLUMNS, ...IGNORED_IMPORT_COLUMNS])
  const columns = header.map((cell) => cell.trim().toLowerCase())
  if (columns.some((column) => !known.has(column))) throw rowError(1, UNKNOWN_COLUMN)
  if (new Set(columns).size !== columns.length) throw rowError(1, 'A column appears more than once.')
  const missing = REQUIRED_IMPORT_COLUMNS.find((column) => !columns.includes(column))
  if (missing) throw rowError(1, `The column ${missing} is required.`)
  return columns as HeaderColumn[]
}

const INTEGER_OR_DECIMAL = /^-?\d+(\.\d+)?$/

/** A number cell as the JSON number the product schemas judge; other text stays text (refused as such). */
const numberCell = (cell: string) => (INTEGER_OR_DECIMAL.test(cell) ? Number(cell) : cell)

function rowValues(columns: HeaderColumn[], record: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {}
  columns.forEach((column, index) => {
    if (column === 'id' || column === 'created_at' || column === 'updated_at') return
    const cell = restoreFormula(record[index]!)
    // An empty cell gives no value, except that an empty description is no description.
    if (column === 'description') values.description = cell === '' ? null : cell
    else if (cell === '') return
    else if (column === 'price' || column === 'stock' || column === 'low_stock_threshold') values[column] = numberCell(cell.trim())
    else values[column] = cell
  })
  return values
}

function categoryNames(cell: string): string[] {
  const names = [...new Set(restoreFormula(cell).split('|').map((part) => part.trim()).filter(Boolean))]
  if (names.length > MAX_CATEGORIES_PER_ROW) throw invalidInput(`A product can have at most ${MAX_CATEGORIES_PER_ROW} categories.`)
  return names
}

/** One data row judged by the product rules; throws the row's first problem. */
function judgeRow(columns: HeaderColumn[], record: string[], earlierSkus: Set<string>): Omit<ParsedRow, 'row'> {
  if (record.length !== columns.length) {
    throw invalidInput(`The row has ${record.length} fields, but the header has ${columns.length}.`)
  }
  const parsed = importRow.safeParse(rowValues(columns, record))
  if (!parsed.success) throw invalidInput(parsed.error.issues[0]!.message)
  // SKUs are ASCII, so JavaScript's lower case is PostgreSQL's.
  const key = parsed.data.sku.toLowerCase()
  if (earlierSkus.has(key)) throw invalidInput('This SKU appears on an earlier row of the file.')
  earlierSkus.add(key)
  const categoriesAt = columns.indexOf('categories')
  return { values: parsed.data, categories: categoriesAt < 0 ? undefined : categoryNames(record[categoriesAt]!) }
}

/**
 * Reads the whole file, streamed through csv-parse, judging each row as it is parsed, and stops
 * at the first bad one. Nothing is written here.
 */
async function readFile(body: CsvBody): Promise<ParsedFile> {
  let columns: HeaderColumn[] | undefined
  const rows: ParsedRow[] = []
  const skus = new Set<string>()
  let row = 0
  let failure: HttpError | undefined
  const judge = (record: string[]) => {
    row += 1
    if (!columns) columns = headerColumns(record)
    // A blank line is a row of the spreadsheet with nothing in it.
    else if (record.length > 1 || record[0] !== '') rows.push({ row, ...judgeRow(columns, record, skus) })
  }
  const parser = parse({
    // Records of any length, so that judgeRow names a short row; a BOM the decoder kept is dropped.
    bom: true,
    relax_column_count: true,
    // Each record is judged as it is parsed (in order, before any later parse error) and not kept.
    on_record: (record: string[]) => {
      if (failure) return null
      try {
        judge(record)
      } catch (error) {
        if (!(error instanceof HttpError) || row === 1) throw error
        failure = rowError(row, error.message)
        parser.destroy()
      }
      return null
    },
  })
  try {
    await pipeline(Readable.from(body.text), parser.resume())
  } catch (error) {
    if (error instanceof CsvError) failure ??= rowError(row + 1, CSV_PROBLEMS[error.code] ?? 'The row is not valid CSV.')
    // Destroyed at the first bad row: the rest of the body is left unread.
    else if (!failure) throw error
  }
  if (!columns) throw invalidInput('The CSV file is empty: it must start with a header row.')
  return { columns: new Set(columns), rows, failure }
}

interface ExistingProduct {
  given: string
  id: number
  sku: string
  name: string
  description: string | null
  price: string
  stock_quantity: number
  low_stock_threshold: number
  category_ids: number[]
}

interface ProductState {
  sku: string
  name: string
  description: string | null
  price: string
  stock: number
  threshold: number
}

interface ImportPlan {
  creates: Array<ProductState & { categoryIds: number[] }>
  updates: Array<ProductState & { id: number; stockBefore: number; categoryIds?: number[] }>
  unchanged: number
}

const sameIds = (a: number[], b: number[]) => a.length === b.length && a.every((id, index) => id === b[index])

/** What a row makes of the product with its SKU: the product's values, the row's where it gives one. */
function updatedState(existing: ExistingProduct, row: ParsedRow, columns: Set<HeaderColumn>): ProductState {
  const { values } = row
  return {
    sku: values.sku,
    name: values.name,
    // '' and null both read as an empty cell: an exported empty description imports back unchanged.
    description: columns.has('description') && (values.description ?? '') !== (existing.description ?? '') ? (values.description ?? null) : existing.description,
    price: values.price !== undefined && values.price !== Number(existing.price) ? String(values.price) : existing.price,
    stock: values.stock ?? existing.stock_quantity,
    threshold: values.low_stock_threshold ?? existing.low_stock_threshold,
  }
}

const stateChanged = (state: ProductState, existing: ExistingProduct) =>
  state.sku !== existing.sku ||
  state.name !== existing.name ||
  state.description !== existing.description ||
  state.price !== existing.price ||
  state.stock !== existing.stock_quantity ||
  state.threshold !== existing.low_stock_threshold

/**
 * Sorts every row into create, update or unchanged against the catalogue, and throws the first
 * row that cannot be applied (a new product without a price, an unknown category). With `lock`
 * the matched products are locked in id order (no deadlock with other lockers in that order) and
 * the categories against deletion, until the transaction ends.
 */
async function planImport(manager: EntityManager, file: ParsedFile, lock: boolean): Promise<ImportPlan> {
  const skus = file.rows.map((row) => row.values.sku)
  const existing: ExistingProduct[] = await manager.query(PRODUCTS_BY_SKU + (lock ? ' FOR UPDATE OF p' : ''), [skus])
  const bySku = new Map(existing.map((product) => [product.given.toLowerCase(), product]))
  const names = [...new Set(file.rows.flatMap((row) => row.categories ?? []))]
  const categories: Array<{ given: string; id: number }> = names.length
    ? await manager.query(CATEGORIES_BY_NAME + (lock ? ' FOR KEY SHARE OF c' : ''), [names])
    : []
  const categoryIds = new Map(categories.map((category) => [category.given, category.id]))

  const plan: ImportPlan = { creates: [], updates: [], unchanged: 0 }
  for (const row of file.rows) {
    const ids = row.categories?.map((name) => categoryIds.get(name))
    if (ids?.includes(undefined)) throw rowError(row.row, 'Each category must be the name of an existing category.')
    const rowCategoryIds = ids === undefined ? undefined : [...new Set(ids as number[])].sort((a, b) => a - b)
    const product = bySku.get(row.values.sku.toLowerCase())
    if (!product) {
      if (row.values.price === undefined) throw rowError(row.row, 'Product price is required.')
      plan.creates.push({
        sku: row.values.sku,
        name: row.values.name,
        description: row.values.description ?? null,
        price: String(row.values.price),
        stock: row.values.stock ?? 0,
        threshold: row.values.low_stock_threshold ?? config.LOW_STOCK_THRESHOLD,
        categoryIds: rowCategoryIds ?? [],
      })
      continue
    }
    const state = updatedState(product, row, file.columns)
    const newCategories = rowCategoryIds && !sameIds(rowCategoryIds, product.category_ids) ? rowCategoryIds : undefined
    if (!stateChanged(state, product) && !newCategories) plan.unchanged += 1
    else plan.updates.push({ ...state, id: product.id, stockBefore: product.stock_quantity, categoryIds: newCategories })
  }
  return plan
}

/**
 * Rows per statement: every statement stays well inside DATABASE_STATEMENT_TIMEOUT_MS (the
 * trigram indexes make inserting a product the costliest part), while the round trips stay few.
 */
const BATCH_ROWS = 5000

/** Runs `write` on the rows in slices of BATCH_ROWS, one set-based statement each. */
async function inBatches<Row, Result = never>(rows: Row[], write: (batch: Row[]) => Promise<Result[] | void>): Promise<Result[]> {
  const results: Result[] = []
  for (let start = 0; start < rows.length; start += BATCH_ROWS) results.push(...((await write(rows.slice(start, start + BATCH_ROWS))) ?? []))
  return results
}

interface Movement {
  productId: number
  delta: number
  after: number
}

/** Writes a plan in a few set-based statements per table (unnest of BATCH_ROWS rows), whatever the number of rows. */
async function applyImport(manager: EntityManager, plan: ImportPlan, userId: number): Promise<LowStockCrossing[]> {
  const movements: Movement[] = []
  const stockChanges: Array<Movement & { before: number; threshold: number }> = []
  const links: Array<{ productId: number; categoryId: number }> = []
  // A statement without RETURNING, run on a batch: nothing comes back.
  const write =
    <Row,>(sql: string, parameters: (batch: Row[]) => unknown[]) =>
    async (batch: Row[]) => {
      await manager.query(sql, parameters(batch))
    }
  const link = (productId: number, categoryIds: number[]) => {
    for (const categoryId of categoryIds) links.push({ productId, categoryId })
  }

  const created = await inBatches(plan.creates, (batch): Promise<Array<{ id: number; sku: string }>> =>
    manager.query(INSERT_PRODUCTS, columnsOf(batch, ['sku', 'name', 'description', 'price', 'stock', 'threshold'])),
  )
  const idOf = new Map(created.map((product) => [product.sku, product.id]))
  for (const product of plan.creates) {
    const productId = idOf.get(product.sku)!
    // As POST /products: a product created empty has no movement yet.
    if (product.stock > 0) movements.push({ productId, delta: product.stock, after: product.stock })
    link(productId, product.categoryIds)
  }

  await inBatches(plan.updates, write(UPDATE_PRODUCTS, (batch) => columnsOf(batch, ['id', 'sku', 'name', 'description', 'price', 'stock', 'threshold'])))
  const relinked: Array<{ id: number }> = []
  for (const product of plan.updates) {
    if (product.stock !== product.stockBefore) {
      const movement = { productId: product.id, delta: product.stock - product.stockBefore, after: product.stock }
      movements.push(movement)
      // Judged by the new threshold, as a PUT that changes both.
      stockChanges.push({ ...movement, before: product.stockBefore, threshold: product.threshold })
    }
    if (product.categoryIds) {
      relinked.push(product)
      link(product.id, product.categoryIds)
    }
  }
  await inBatches(relinked, write(UNLINK_CATEGORIES, (batch) => columnsOf(batch, ['id'])))

  await inBatches(movements, write(INSERT_MOVEMENTS, (batch) => [...columnsOf(batch, ['productId', 'delta', 'after']), userId]))
  await inBatches(links, write(INSERT_CATEGORY_LINKS, (batch) => columnsOf(batch, ['productId', 'categoryId'])))
  const alerts = await inBatches(stockChanges, (batch): Promise<Array<{ id: number; product_id: number; stock: number; threshold: number }>> =>
    manager.query(INSERT_ALERTS, columnsOf(batch, ['productId', 'before', 'after', 'threshold'])),
  )
  return alerts.map((alert) => ({ alertId: alert.id, productId: alert.product_id, stock: alert.stock, threshold: alert.threshold }))
}

/** Rows as one array per field: the parameters of an unnest(). */
function columnsOf<Row, Key extends keyof Row>(rows: Row[], keys: Key[]): unknown[][] {
  return keys.map((key) => rows.map((row) => row[key]))
}

const countsOf = (plan: ImportPlan) => ({ created: plan.creates.length, updated: plan.updates.length, unchanged: plan.unchanged })

/**
 * POST /products/import: all rows or none, in one transaction. The first bad row is the one
 * reported, whether the file's own rules or the catalogue (unknown category, new product without
 * a price) find it; a dry run, or a file with a bad row, is judged without locking or writing.
 */
export async function importProducts(body: CsvBody, options: { dryRun: boolean; userId: number }): Promise<ImportResult> {
  const file = await readFile(body)
  if (options.dryRun || file.failure) {
    const plan = await planImport(dataSource.manager, file, false)
    if (file.failure) throw file.failure
    return { ...countsOf(plan), dry_run: true }
  }
  const { plan, crossings } = await dataSource.transaction(async (manager) => {
    const plan = await planImport(manager, file, true)
    return { plan, crossings: await applyImport(manager, plan, options.userId) }
  })
  for (const crossing of crossings) logLowStock(crossing)
  return { ...countsOf(plan), dry_run: false }
}
