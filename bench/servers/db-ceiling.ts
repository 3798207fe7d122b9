/**
 * R, the database ceiling: what an ideal hand-written server does for each benchmarked endpoint.
 * A bare Bun.serve and a `pg` pool (same size as the API's) running the endpoint's own SQL
 * (imported from the modules' sql.ts, so it cannot drift) as named prepared statements, with the
 * same JSON out (the modules' own row mappers), and nothing else: no framework, no validation library, no authentication, no logging.
 */
import { Pool } from 'pg'
import { fetchPage, listScope, pageRequest, type ListStatement } from '../../src/http/pagination'
import { ALERT_LIST, toPublicAlert } from '../../src/modules/alerts/sql'
import { orderListStatement, PLACE_ORDER, toPublicOrder } from '../../src/modules/orders/sql'
import { GET_PRODUCT, movementListStatement, productListStatement, toPublicMovement, toPublicProduct, type ProductFilters } from '../../src/modules/products/sql'
import { ADJUST_STOCK, adjustmentParameters, toPublicMovements, type AdjustmentItem } from '../../src/modules/stock-adjustments/sql'

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) })
const userId = Number(process.env.BENCH_USER_ID)
const names = new Map<string, string>()
const prepared = (text: string, values: unknown[]) => {
  let name = names.get(text)
  if (!name) names.set(text, (name = `r${names.size}`))
  return { name, text, values }
}

/** limit, offset and cursor as the API's schema reads them (the bench sends only valid ones). */
function paging(request: Request) {
  const search = new URL(request.url).searchParams
  return {
    limit: Number(search.get('limit') ?? 20),
    offset: search.has('offset') ? Number(search.get('offset')) : undefined,
    cursor: search.get('cursor') ?? undefined,
  }
}

const run = async (sql: string, params: unknown[]) => (await pool.query(prepared(sql, params))).rows

/** A list endpoint's work: the cursor checked, one statement, the envelope. */
async function list<Row>(statement: ListStatement, request: ReturnType<typeof pageRequest>, toItem: (row: any) => Row) {
  return Response.json(await fetchPage(run, statement, request, toItem))
}

/** The endpoint's success path: one statement. (The bench never runs a product out of stock.) */
async function placeOrder(productId: number, quantity: number): Promise<Response> {
  const { rows: [order] } = await pool.query(prepared(PLACE_ORDER, [productId, quantity, userId]))
  return Response.json(toPublicOrder(order), { status: 201 })
}

/** The adjustments' success path: one statement for a batch of any size. (The bench never refuses one.) */
async function adjust(items: AdjustmentItem[]) {
  const { rows: [row] } = await pool.query(prepared(ADJUST_STOCK, adjustmentParameters(items, userId)))
  return toPublicMovements(row, userId)
}

Bun.serve({
  hostname: process.env.HOST,
  port: Number(process.env.PORT),
  routes: {
    '/health': new Response('ok'),
    '/products/:id': async (request) => {
      const { rows: [row] } = await pool.query(prepared(GET_PRODUCT, [Number(request.params.id)]))
      return row ? Response.json(toPublicProduct(row)) : new Response(null, { status: 404 })
    },
    '/products': async (request) => {
      const search = new URL(request.url).searchParams
      const number = (name: string) => (search.has(name) ? Number(search.get(name)) : undefined)
      const flag = (name: string) => (search.has(name) ? search.get(name) === 'true' : undefined)
      const filters: ProductFilters = {
        q: search.get('q') ?? undefined,
        category_id: number('category_id'),
        min_price: search.get('min_price') ?? undefined,
        max_price: search.get('max_price') ?? undefined,
        in_stock: flag('in_stock'),
        low_stock: flag('low_stock'),
        sort: (search.get('sort') ?? undefined) as ProductFilters['sort'],
      }
      return list(productListStatement(filters), pageRequest(paging(request), listScope('products', filters)), toPublicProduct)
    },
    '/products/:id/stock-adjustments': {
      POST: async (request) => {
        const body = (await request.json()) as AdjustmentItem
        const [movement] = await adjust([{ ...body, product_id: Number(request.params.id) }])
        return Response.json(movement, { status: 201 })
      },
    },
    '/stock-adjustments': {
      POST: async (request) => {
        const body = (await request.json()) as { items: AdjustmentItem[] }
        return Response.json({ items: await adjust(body.items) }, { status: 201 })
      },
    },
    '/products/:id/stock-movements': (request) => {
      const productId = Number(request.params.id)
      return list(movementListStatement(productId), pageRequest(paging(request), listScope('stock-movements', { product_id: productId })), toPublicMovement)
    },
    '/alerts': (request) => list(ALERT_LIST, pageRequest(paging(request), listScope('alerts', {})), toPublicAlert),
    '/orders': {
      // R authenticates no one: the bench marks the requests it sends as the customer.
      GET: (request) => {
        const own = request.headers.get('x-bench-as') === 'customer'
        const scope = listScope('orders', own ? { user_id: userId } : {})
        return list(orderListStatement(own ? userId : undefined), pageRequest(paging(request), scope), toPublicOrder)
      },
      POST: async (request) => {
        const body = (await request.json()) as { product_id: number; quantity: number }
        return placeOrder(body.product_id, body.quantity)
      },
    },
  },
})
