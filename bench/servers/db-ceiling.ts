/**
 * R, the database ceiling: what an ideal hand-written server does for each benchmarked endpoint.
 * A bare Bun.serve and a `pg` pool (same size as the API's) running the endpoint's own SQL
 * (imported from the modules' sql.ts, so it cannot drift) as named prepared statements, with the
 * same JSON out (the modules' own row mappers), and nothing else: no framework, no validation library, no authentication, no logging.
 */
import { Pool } from 'pg'
import { fetchPage, listScope, pageRequest, type ListStatement } from '../../src/http/pagination'
import { PLACE_ORDER, toPublicOrder } from '../../src/modules/orders/sql'
import { GET_PRODUCT, productListStatement, toPublicProduct, type ProductFilters } from '../../src/modules/products/sql'

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) })
const userId = Number(process.env.BENCH_USER_ID)
const names = new Map<string, string>()
const prepared = (text: string, values: unknown[]) => {
  let name = names.get(text)
  if (!name) names.set(text, (name = `r${names.size}`))
  return { name, text, values }
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
      const page = { limit: number('limit') ?? 20, offset: number('offset'), cursor: search.get('cursor') ?? undefined }
      return list(productListStatement(filters), pageRequest(page, listScope('products', filters)), toPublicProduct)
    },
    '/orders': {
      POST: async (request) => {
        const body = (await request.json()) as { product_id: number; quantity: number }
        return placeOrder(body.product_id, body.quantity)
      },
    },
  },
})
