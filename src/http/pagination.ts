/**
 * Lists at any size: `limit`, a capped `offset`, keyset cursors and a bounded total, shared by
 * every list endpoint. A page costs its own rows plus a count that stops at LIST_COUNT_LIMIT, so
 * it stays as fast at a million rows as at a thousand.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto'
import { z } from 'zod'
import { config } from '../config'
import { invalidInput } from './errors'
import { integerRangeMessage, queryInteger } from './validation'

export const MAX_PAGE_SIZE = 100
export const MAX_OFFSET = 10_000
const MAX_CURSOR_LENGTH = 512

export const offsetTooLarge = () => invalidInput('Use cursor to page beyond 10,000 items.')
export const invalidCursor = () => invalidInput('Query parameter cursor is malformed, altered, or belongs to another query.')
export const cursorWithOffset = () => invalidInput('Query parameters cursor and offset cannot be used together.')
/** The 400 of a bad `limit`, the example most list operations show first. */
export const invalidLimit = () => invalidInput(integerRangeMessage('Query parameter limit', 1, MAX_PAGE_SIZE))
/** Every 400 the paging parameters can answer, for a list operation's errorResponses(). */
export const PAGE_ERRORS = [invalidLimit(), offsetTooLarge(), invalidCursor(), cursorWithOffset()]

const offsetMessage = integerRangeMessage('Query parameter offset', 0, MAX_OFFSET)
const cursorMessage = invalidCursor().message

/** The query parameters of every list; spread into its query schema. */
export const pagination = {
  limit: queryInteger('Query parameter limit', 1, MAX_PAGE_SIZE)
    .default(20)
    .meta({ description: `Page size, 1–${MAX_PAGE_SIZE}; 20 when omitted.`, example: '20' }),
  // No default: an offset sent with a cursor is refused, so its absence must be visible.
  offset: z
    .string({ error: offsetMessage })
    .regex(/^\d{1,12}$/, { error: offsetMessage })
    .transform(Number)
    .refine((offset) => offset <= MAX_OFFSET, { error: offsetTooLarge().message })
    .optional()
    .meta({ description: `Number of items to skip, 0–${MAX_OFFSET.toLocaleString('en')}; 0 when omitted. Use \`cursor\` to go deeper.`, example: '0' }),
  cursor: z
    .string({ error: cursorMessage })
    .min(1, { error: cursorMessage })
    .max(MAX_CURSOR_LENGTH, { error: cursorMessage })
    .optional()
    .meta({
      description:
        'The `next_cursor` of the previous page: continues the same query (send the same filters and sort; only `limit` may change) at a cost that does not grow with depth. Not with `offset`.',
      // No example: Swagger UI's "Try it out" sends examples as values, and no made-up cursor is valid.
    }),
}

export type PageQuery = { limit: number; offset?: number; cursor?: string }

/** Where a cursor page starts: after the row with this sort key (as PostgreSQL text) and id. */
export interface KeysetPosition {
  key: string | null
  id: number
}

export interface PageRequest {
  limit: number
  /** Items before this page: the `offset`, or the position a cursor was made at. */
  offset: number
  after?: KeysetPosition
  /** What the cursors of this page are bound to. */
  scope: string
}

/**
 * A cursor is `payload.mac`: the payload is the last row's sort key and id and the count of items
 * before the next page; the MAC (HMAC-SHA256) covers it together with the query's scope (endpoint,
 * filters, sort, and the caller where visibility depends on it), so a cursor altered, or replayed on
 * another query, is refused. The key is derived from JWT_SECRET: every replica accepts every other's.
 */
const cursorKey = Buffer.from(hkdfSync('sha256', config.JWT_SECRET, '', 'inventory-api list cursor', 32))
const mac = (scope: string, payload: string) => createHmac('sha256', cursorKey).update(scope).update('\n').update(payload).digest()
const cursorPayload = z.tuple([z.string().nullable(), z.int().positive(), z.int().nonnegative()])

/** The query's identity, for binding cursors: stable whatever the order of the parameters. */
export function listScope(endpoint: string, filters: object): string {
  const entries = Object.entries(filters)
    .filter(([name, value]) => value !== undefined && !(name in pagination))
    .sort(([a], [b]) => (a < b ? -1 : 1))
  return `${endpoint}?${JSON.stringify(entries)}`
}

/** Checks the paging parameters against the query they are sent with. */
export function pageRequest(query: PageQuery, scope: string): PageRequest {
  if (query.cursor === undefined) return { limit: query.limit, offset: query.offset ?? 0, scope }
  if (query.offset !== undefined) throw cursorWithOffset()
  const [payload, signature, extra] = query.cursor.split('.')
  if (!payload || !signature || extra !== undefined) throw invalidCursor()
  const expected = mac(scope, payload)
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor()
  let decoded: z.output<typeof cursorPayload>
  try {
    decoded = cursorPayload.parse(JSON.parse(Buffer.from(payload, 'base64url').toString()))
  } catch {
    throw invalidCursor()
  }
  const [key, id, offset] = decoded
  return { limit: query.limit, offset, after: { key, id }, scope }
}

export function encodeCursor(scope: string, position: KeysetPosition, offset: number): string {
  const payload = Buffer.from(JSON.stringify([position.key, position.id, offset])).toString('base64url')
  return `${payload}.${mac(scope, payload).toString('base64url')}`
}

/** What a list statement returns: a page of rows (one more than asked, to know if more follow) and the bounded count. */
export interface PageRows<Row> {
  rows: Row[]
  /** count(*) of the matches, stopped at LIST_COUNT_LIMIT + 1. */
  counted: number
}

export interface Page<T> {
  items: T[]
  total: number
  total_exact: boolean
  limit: number
  offset: number
  next_cursor: string | null
}

/** Builds the page envelope; `position` gives the keyset position of a row (its sort key as text, and id). */
function toPage<Row, T>(
  request: PageRequest,
  { rows, counted }: PageRows<Row>,
  position: (row: Row) => KeysetPosition,
  toItem: (row: Row) => T,
): Page<T> {
  const page = rows.slice(0, request.limit)
  const last = page.at(-1)
  const more = rows.length > request.limit && last !== undefined
  return {
    items: page.map(toItem),
    total: Math.min(counted, config.LIST_COUNT_LIMIT),
    total_exact: counted <= config.LIST_COUNT_LIMIT,
    limit: request.limit,
    offset: request.offset,
    next_cursor: more ? encodeCursor(request.scope, position(last), request.offset + page.length) : null,
  }
}

export interface KeysetOrder {
  /** The sort column (null: by id alone) and the type its cursor text is cast back to. */
  key: { column: string; type: string } | null
  id: string
  /** The direction of the key (or of the id, when sorting by id alone); ties always go by id ascending. */
  descending: boolean
}

export interface ListStatement {
  /** The table(s) the matches come from, with their alias. */
  from: string
  conditions: string[]
  params: unknown[]
  /** The page's columns; `joins` add what only the page needs (the count skips them). */
  select: string
  joins?: string
  /** Columns computed from the cut page only (`page.<column>`), e.g. a per-row aggregate. */
  pageColumns?: string
  order: KeysetOrder
  /** A cheaper source of the same count, where one holds exactly the matches (its conditions use `params`). */
  count?: { from: string; conditions: string[] }
  /**
   * The conditions are answered by an index that cannot give the order (a text search): every
   * match must be read to count it and again to sort it, so they are read once, up to the count
   * limit, and the page is cut from that read. Past the limit the page is found as usual.
   */
  readMatchesOnce?: boolean
}

/** The ORDER BY of a keyset order: the key in its direction, ties by id ascending (by id alone: in the direction). */
export const orderByOf = ({ key, id, descending }: KeysetOrder) =>
  key ? `${key.column} ${descending ? 'DESC' : 'ASC'}, ${id}` : `${id} ${descending ? 'DESC' : 'ASC'}`

/**
 * One statement, one round trip: the bounded count (`SELECT 1 … LIMIT n + 1`, which an index can
 * answer without visiting the rest of the matches) and the page, LEFT JOINed to the count so that
 * an empty page still carries it. A cursor page starts right after the cursor's row through
 * conditions the sort's index answers as a range, so depth costs nothing: a row comparison, or,
 * for a descending key with ascending ties (two directions no row comparison can say), the rest of
 * the cursor's tie group followed by the smaller keys, each an index range of its own.
 * A statement that `readMatchesOnce` reads its matches once instead, counts them and cuts the page
 * from them, unless there are more than the count limit, when the page is found as above.
 * Every row has `page_total`, `cursor_key` (the sort key as text) and `cursor_id`.
 */
export function pageQuery(statement: ListStatement, request: PageRequest): { sql: string; params: unknown[] } {
  const params = [...statement.params]
  const param = (value: unknown) => `$${params.push(value)}`
  const { key, id, descending } = statement.order
  const direction = descending ? 'DESC' : 'ASC'
  // The limits are literals, and so is a first page's offset of 0: as parameters, a prepared
  // statement's generic plan assumes a LIMIT $n keeps a tenth of the matches, which at a million
  // rows made PostgreSQL plan every run anew (about 0.45 ms of each list request). A limit is one of
  // 100 values, so a statement has at most 100 texts per shape (db/prepared.ts bounds them).
  // A search keeps them as parameters, as before: with literals its pages at 1,000 products took
  // twice as long in the bench (20.8 against 9.7 ms), and at a million it is planned per run anyway.
  const literal = statement.readMatchesOnce ? param : integerLiteral
  const countLimit = literal(config.LIST_COUNT_LIMIT + 1)
  const limit = literal(request.limit + 1)
  const offset = request.after ? undefined : request.offset === 0 && !statement.readMatchesOnce ? '0' : param(request.offset)
  const after = request.after && { key: key ? `${param(request.after.key)}::${key.type}` : null, id: param(request.after.id) }
  // What orders a page's rows once they leave their table: a cut of several ranges, and the outer query.
  const cursorColumns = `${key ? `${key.column} AS cursor_value, ` : ''}${id} AS cursor_id`
  const columns = `${statement.select}, ${cursorColumns}, ${key ? `${key.column}::text` : 'NULL::text'} AS cursor_key`
  const page = (from: string, conditions: string[], select: string, joins?: string) => pageAfter(statement.order, { from, conditions, select, joins, limit, offset, after })
  const outerOrder = key ? `page.cursor_value ${direction}, page.cursor_id` : `page.cursor_id ${direction}`
  const outer = (counted: string, page: string) => `SELECT counted.page_total, page.*${statement.pageColumns ? `, ${statement.pageColumns}` : ''}
    FROM (${counted}) counted LEFT JOIN LATERAL (${page}) page ON true
    ORDER BY ${outerOrder}`

  if (statement.readMatchesOnce) {
    // The matches' ids and sort keys, read once. The CTE takes the table's alias, so that the
    // order's columns (`p.id`, `p.price`) name its columns: the same keyset conditions cut the page.
    const alias = statement.from.split(' ').at(-1)!
    const readColumns = key ? `${id}, ${key.column}` : id
    const cutFromMatches = `SELECT ${columns} FROM ${statement.from} ${statement.joins ?? ''}
      WHERE ${id} IN (SELECT cursor_id FROM (${page(`matches ${alias}`, [], cursorColumns)}) cut) AND counted.page_total < ${countLimit}`
    const sql = `WITH matches AS MATERIALIZED (SELECT ${readColumns} FROM ${statement.from} WHERE ${whereOf(statement.conditions)} LIMIT ${countLimit})
      ${outer('SELECT count(*)::int AS page_total FROM matches', `(${cutFromMatches}) UNION ALL (SELECT * FROM (${page(statement.from, statement.conditions, columns, statement.joins)}) beyond WHERE counted.page_total >= ${countLimit})`)}`
    return { sql, params }
  }
  const counted = statement.count ?? statement
  const count = `SELECT count(*)::int AS page_total FROM (SELECT 1 FROM ${counted.from} WHERE ${whereOf(counted.conditions)} LIMIT ${countLimit}) matches`
  return { sql: outer(count, page(statement.from, statement.conditions, columns, statement.joins)), params }
}

const whereOf = (conditions: string[]) => conditions.join(' AND ') || 'true'

/** A validated integer written into the SQL text (never a client's text). */
function integerLiteral(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`)
  return String(value)
}

/** The rows of one page from `from`: the first `limit` in the keyset order, after `offset` rows or after the cursor's row. */
function pageAfter(
  order: KeysetOrder,
  page: { from: string; conditions: string[]; select: string; joins?: string; limit: string; offset?: string; after?: { key: string | null; id: string } },
): string {
  const { key, id, descending } = order
  const orderBy = orderByOf(order)
  const select = (extra: string[], offset = '0') =>
    `SELECT ${page.select} FROM ${page.from} ${page.joins ?? ''} WHERE ${whereOf([...page.conditions, ...extra])} ORDER BY ${orderBy} LIMIT ${page.limit} OFFSET ${offset}`
  const { after } = page
  if (!after) return select([], page.offset)
  if (!key || after.key === null) return select([`${id} ${descending ? '<' : '>'} ${after.id}`])
  if (!descending) return select([`(${key.column}, ${id}) > (${after.key}, ${after.id})`])
  return `(${select([`${key.column} = ${after.key}`, `${id} > ${after.id}`])}) UNION ALL (${select([`${key.column} < ${after.key}`])})
    ORDER BY cursor_value DESC, cursor_id LIMIT ${page.limit}`
}

export interface PagedRow {
  page_total: number
  cursor_key: string | null
  cursor_id: number | string | null
}

/** Splits a pageQuery() result into its rows and count (an empty page is one all-NULL row). */
function pageRows<Row extends PagedRow>(result: Row[]): PageRows<Row> {
  return { rows: result.filter((row) => row.cursor_id !== null), counted: result[0]?.page_total ?? 0 }
}

const keysetPosition = (row: PagedRow): KeysetPosition => ({ key: row.cursor_key, id: Number(row.cursor_id) })

/** Runs a list statement for a page request and builds its envelope. */
export async function fetchPage<Row extends PagedRow, T>(
  run: (sql: string, params: unknown[]) => Promise<Row[]>,
  statement: ListStatement,
  request: PageRequest,
  toItem: (row: Row) => T,
): Promise<Page<T>> {
  const { sql, params } = pageQuery(statement, request)
  return toPage(request, pageRows(await run(sql, params)), keysetPosition, toItem)
}

/** The response schema of a list of `item`. */
export const pageSchema = <T extends z.ZodType>(item: T) =>
  z
    .object({
      items: z.array(item),
      total: z.int().meta({
        description: `Number of matches, exact up to LIST_COUNT_LIMIT (default ${(10_000).toLocaleString('en')}); past it, that limit (see \`total_exact\`).`,
        example: 1,
      }),
      total_exact: z.boolean().meta({ description: '`false` when `total` is a lower bound ("10,000+ results").', example: true }),
      limit: z.int().meta({ example: 20 }),
      offset: z.int().meta({ description: 'Items before this page (the `offset`, or where the `cursor` continues).', example: 0 }),
      next_cursor: z
        .string()
        .nullable()
        .meta({ description: 'Pass as `cursor` for the next page; `null` on the last page.', example: 'WyIyNC45MCIsMTIsMjBd.Zm9vYmFy' }),
    })
    .meta({ description: 'One page of the list, with what chose it and the cursor of the next page.' })
