import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidId, JSON_BODY_ERRORS } from '../../http/error-responses'
import { conditionalRead, ifMatchHeaders, ifNoneMatchHeaders, notModified, sendsEtag, tagged } from '../../http/conditional'
import { PAGE_ERRORS } from '../../http/pagination'
import { conflict, invalidInput, notFound, preconditionFailed, tooManySearchScans } from '../../http/errors'
import { noContent } from '../../http/validation'
import {
  createProductBody,
  productListQuery,
  productPage,
  productParams,
  productSchema,
  stockMovementListQuery,
  stockMovementPage,
  updateProductBody,
} from './schemas'
import { createProduct, deleteProduct, getProduct, listProducts, listStockMovements, updateProduct } from './service'

export const productRoutes = new Elysia({ prefix: '/products', tags: ['Products'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, user, set }) => {
      const product = await createProduct(body, user.id)
      set.status = 201
      return tagged(set, product)
    },
    {
      role: ['manager', 'admin'],
      body: createProductBody,
      response: {
        201: productSchema,
        ...errorResponses(
          invalidInput('Product price is required.'),
          invalidInput('Product name is required.'),
          invalidInput('Product stock is required.'),
          invalidInput('Product price must have at most 2 decimal places.'),
          ...JSON_BODY_ERRORS,
          notFound('Category', 42),
          conflict('A product with this SKU already exists.'),
        ),
      },
      detail: {
        ...sendsEtag,
        summary: 'Create a product',
        description:
          'Managers and admins. `name`, `price` and `stock` (or its alias `stock_quantity`) are required; `sku` is optional and unique regardless of case (409 Conflict). The initial stock is recorded as a stock movement. An unknown id in `category_ids` is a 404 Category not found and nothing is written.',
      },
    },
  )
  .get('', ({ query }) => listProducts(query), {
    auth: true,
    query: productListQuery,
    response: { 200: productPage, ...errorResponses(...PAGE_ERRORS, tooManySearchScans()) },
    detail: {
      summary: 'List products',
      description:
        'Any authenticated user. Filters: `sku` (exact, case-insensitive: at most one product), `q` (case-insensitive, in name and description), `category_id`, `min_price`, `max_price`, `in_stock`, `low_stock`; `sort` by `name`, `price`, `stock` or `created_at`, `-` first for descending (default: by id). Paginated: `limit`, and `offset` (up to 10,000) or the previous page\'s `next_cursor` as `cursor`; `total` is exact up to LIST_COUNT_LIMIT (`total_exact`). A `q` without three letters or digits in a row (`ab`, `a-b`, `%`) cannot use the search indexes and reads every product: such searches run one at a time across all replicas, and one that cannot start within 2 s (or finds 32 waiting in its process) is a 429 with `Retry-After`.',
    },
  })
  .get('/:id', async ({ params, headers, set }) => conditionalRead(set, headers['if-none-match'], await getProduct(params.id)), {
    auth: true,
    params: productParams,
    headers: ifNoneMatchHeaders,
    response: { 200: productSchema, 304: notModified, ...errorResponses(invalidId('Product ID'), notFound('Product', 42)) },
    detail: {
      ...sendsEtag,
      summary: 'Get a product',
      description:
        'Any authenticated user; a missing or deleted product is a 404 Product not found. The `ETag` header changes with every change of the product, its stock and its categories included: send it back as `If-None-Match` to get a 304 with no body while it is current, or as `If-Match` with a `PUT` to update only what you read.',
    },
  })
  .put('/:id', async ({ params, body, user, headers, set }) => tagged(set, await updateProduct(params.id, body, user.id, headers['if-match'])), {
    role: ['manager', 'admin'],
    params: productParams,
    headers: ifMatchHeaders,
    body: updateProductBody,
    response: {
      200: productSchema,
      ...errorResponses(
        invalidInput('Product stock must be at least 0.'),
        invalidId('Product ID'),
        ...JSON_BODY_ERRORS,
        notFound('Product', 42),
        notFound('Category', 42),
        conflict('A product with this SKU already exists.'),
        preconditionFailed('product'),
      ),
    },
    detail: {
      ...sendsEtag,
      summary: 'Update a product',
      description:
        'Managers and admins. Any subset of the fields. A new `stock` is recorded as an adjustment movement; falling below the low-stock threshold records an alert. `category_ids` replaces the set of categories. With `If-Match: <ETag of your read>` the update applies only if the product has not changed since (else 412 Precondition failed, nothing written): a safe read-modify-write. The response carries the new `ETag`.',
    },
  })
  .delete(
    '/:id',
    async ({ params, set }) => {
      await deleteProduct(params.id)
      set.status = 204
    },
    {
      role: ['admin'],
      params: productParams,
      response: { 204: noContent, ...errorResponses(invalidId('Product ID'), notFound('Product', 42)) },
      detail: {
        summary: 'Delete a product',
        description: 'Admins only. Answers 204 with no body. The product then reads as 404, while past orders and stock movements keep referring to it.',
      },
    },
  )
  .get('/:id/stock-movements', ({ params, query }) => listStockMovements(params.id, query), {
    role: ['manager', 'admin'],
    params: productParams,
    query: stockMovementListQuery,
    response: { 200: stockMovementPage, ...errorResponses(invalidId('Product ID'), ...PAGE_ERRORS, notFound('Product', 42)) },
    detail: {
      summary: "List a product's stock movements",
      description:
        'Managers and admins. Every change of the stock (initial stock, adjustments, orders), newest first, paginated; the stock always equals the sum of the deltas.',
    },
  })
