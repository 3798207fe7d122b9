/**
 * R, the database ceiling: what an ideal hand-written server does for each benchmarked endpoint.
 * A bare Bun.serve and a `pg` pool (same size as the API's) running the endpoint's own SQL
 * (imported from the modules' sql.ts, so it cannot drift) as named prepared statements, with the
 * same JSON out (the modules' own row mappers), and nothing else: no framework, no validation library, no authentication, no logging.
 */
import { Pool } from 'pg'
import { PLACE_ORDER, toPublicOrder } from '../../src/modules/orders/sql'
import { GET_PRODUCT, listProductsQuery, toPublicProduct, type ProductFilters } from '../../src/modules/products/sql'
import { ADJUST_STOCK, adjustmentParameters, toPublicMovements, type AdjustmentItem } from '../../src/modules/stock-adjustments/sql'

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) })
const userId = Number(process.env.BENCH_USER_ID)
const names = new Map<string, string>()
const prepared = (text: string, values: unknown[]) => {
  let name = names.get(text)
  if (!name) names.set(text, (name = `r${names.size}`))
  return { name, text, values }
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
      const category = search.get('category_id')
      const { sql, params } = listProductsQuery({
        q: search.get('q') ?? undefined,
        category_id: category === null ? undefined : Number(category),
        sort: (search.get('sort') ?? undefined) as ProductFilters['sort'],
        limit: Number(search.get('limit') ?? 20),
        offset: Number(search.get('offset') ?? 0),
      })
      const { rows } = await pool.query(prepared(sql, params))
      return Response.json({ items: rows.map(toPublicProduct), total: rows[0] ? Number(rows[0].total) : 0, limit: params.at(-2), offset: params.at(-1) })
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
    '/orders': {
      POST: async (request) => {
        const body = (await request.json()) as { product_id: number; quantity: number }
        return placeOrder(body.product_id, body.quantity)
      },
    },
  },
})
