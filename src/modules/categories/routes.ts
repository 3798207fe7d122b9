import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidId, JSON_BODY_ERRORS } from '../../http/error-responses'
import { conditionalRead, ifMatchHeaders, ifNoneMatchHeaders, notModified, sendsEtag, tagged } from '../../http/conditional'
import { PAGE_ERRORS } from '../../http/pagination'
import { conflict, invalidInput, notFound, preconditionFailed } from '../../http/errors'
import { noContent } from '../../http/validation'
import { categoryListQuery, categoryPage, categoryParams, categorySchema, createCategoryBody, updateCategoryBody } from './schemas'
import { createCategory, deleteCategory, getCategory, listCategories, updateCategory } from './service'

export const categoryRoutes = new Elysia({ prefix: '/categories', tags: ['Categories'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, set }) => {
      set.status = 201
      return tagged(set, await createCategory(body))
    },
    {
      role: ['manager', 'admin'],
      body: createCategoryBody,
      response: {
        201: categorySchema,
        ...errorResponses(
          invalidInput('Category name is required.'),
          ...JSON_BODY_ERRORS,
          conflict('A category with this name already exists.'),
        ),
      },
      detail: {
        ...sendsEtag,
        summary: 'Create a category',
        description: 'Managers and admins. Names are unique regardless of case (409 Conflict).',
      },
    },
  )
  .get('', ({ query }) => listCategories(query), {
    auth: true,
    query: categoryListQuery,
    response: { 200: categoryPage, ...errorResponses(...PAGE_ERRORS) },
    detail: { summary: 'List categories', description: 'Every category, ordered by name (then id), paginated. Any authenticated user.' },
  })
  .get('/:id', async ({ params, headers, set }) => conditionalRead(set, headers['if-none-match'], await getCategory(params.id)), {
    auth: true,
    params: categoryParams,
    headers: ifNoneMatchHeaders,
    response: { 200: categorySchema, 304: notModified, ...errorResponses(invalidId('Category ID'), notFound('Category', 42)) },
    detail: {
      ...sendsEtag,
      summary: 'Get a category',
      description:
        'Any authenticated user; 404 Category not found when absent. The `ETag` header changes with every change of the category: send it back as `If-None-Match` for a 304 with no body while it is current, or as `If-Match` with a `PUT`.',
    },
  })
  .put('/:id', async ({ params, body, headers, set }) => tagged(set, await updateCategory(params.id, body, headers['if-match'])), {
    role: ['manager', 'admin'],
    params: categoryParams,
    headers: ifMatchHeaders,
    body: updateCategoryBody,
    response: {
      200: categorySchema,
      ...errorResponses(
        invalidInput('Category name must not be empty.'),
        invalidId('Category ID'),
        ...JSON_BODY_ERRORS,
        notFound('Category', 42),
        conflict('A category with this name already exists.'),
        preconditionFailed('category'),
      ),
    },
    detail: {
      ...sendsEtag,
      summary: 'Update a category',
      description:
        'Managers and admins. Any subset of `name` and `description`; a name taken by another category (in any case) is a 409. With `If-Match: <ETag of your read>` the update applies only if the category has not changed since (else 412 Precondition failed, nothing written). The response carries the new `ETag`.',
    },
  })
  .delete(
    '/:id',
    async ({ params, set }) => {
      await deleteCategory(params.id)
      set.status = 204
    },
    {
      role: ['admin'],
      params: categoryParams,
      response: { 204: noContent, ...errorResponses(invalidId('Category ID'), notFound('Category', 42)) },
      detail: {
        summary: 'Delete a category',
        description: 'Admins only. Answers 204 with no body; the category is unlinked from its products, which are kept.',
      },
    },
  )
