/**
 * A small client of the API as code generators see it: `paths` comes from openapi-typescript run on
 * the served document (test/http/openapi-tools.test.ts writes ./schema.d.ts next to a copy of this file),
 * and openapi-fetch types every path, parameter, body and response from it. A path or field that the
 * document does not have is a type error. Not in the root tsconfig: schema.d.ts exists only there.
 */
import createClient from 'openapi-fetch'
import type { paths } from './schema'

export interface Account {
  username: string
  password: string
}

const basic = ({ username, password }: Account) => `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`

export const inventoryClient = (baseUrl: string, fetch: (request: Request) => Promise<Response>) => createClient<paths>({ baseUrl, fetch })

/** README's "first order": register, log in, the admin's product, the customer's order, its stock, a missing product. */
export async function firstOrder(client: ReturnType<typeof inventoryClient>, admin: Account, customer: Account) {
  const registered = await client.POST('/users', { body: { username: customer.username, password: customer.password } })
  const login = await client.POST('/login', { headers: { authorization: basic(customer) } })
  const bearer = `Bearer ${login.data?.access_token}`
  const product = await client.POST('/products', {
    headers: { authorization: basic(admin) },
    body: { name: `Desk lamp for ${customer.username}`, price: 24.9, stock: 12, low_stock_threshold: 10 },
  })
  const productId = product.data?.id ?? 0
  const order = await client.POST('/orders', {
    headers: { authorization: bearer },
    params: { header: { 'idempotency-key': `first-order-${customer.username}` } },
    body: { product_id: productId, quantity: 3 },
  })
  const afterOrder = await client.GET('/products/{id}', { headers: { authorization: bearer }, params: { path: { id: String(productId) } } })
  const missing = await client.GET('/products/{id}', { headers: { authorization: bearer }, params: { path: { id: '999999' } } })
  return {
    registered: registered.data?.role,
    tokenType: login.data?.token_type,
    ordered: order.data?.quantity,
    orderStatus: order.data?.status,
    stockLeft: afterOrder.data?.stock,
    missing: { status: missing.response.status, body: missing.error },
  }
}
