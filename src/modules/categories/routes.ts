import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidId, invalidPage, JSON_BODY_ERRORS } from '../../http/error-responses'
import { conflict, invalidInput, notFound } from '../../http/errors'
import { noContent } from '../../http/validation'
import { categoryListQuery, categoryPage, categoryParams, categorySchema, createCategoryBody, updateCategoryBody } from './schemas'
import { createCategory, deleteCategory, getCategory, listCategories, updateCategory } from './service'

export const categoryRoutes = new Elysia({ prefix: '/categories', tags: ['Categories'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, set }) => {
      set.status = 201
      return createCategory(body)
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
        summary: 'Create a category',
        description: 'Managers and admins. Names are unique regardless of case (409 Conflict).',
      },
    },
  )
  .get('', ({ query }) => listCategories(query.limit, query.offset), {
    auth: true,
    query: categoryListQuery,
    response: { 200: categoryPage, ...errorResponses(invalidPage()) },
    detail: { summary: 'List categories', description: 'Every category, ordered by name (then id), paginated. Any authenticated user.' },
  })
  .get('/:id', ({ params }) => getCategory(params.id), {
    auth: true,
    params: categoryParams,
    response: { 200: categorySchema, ...errorResponses(invalidId('Category ID'), notFound('Category', 42)) },
    detail: { summary: 'Get a category', description: 'Any authenticated user; 404 Category not found when absent.' },
  })
  .put('/:id', ({ params, body }) => updateCategory(params.id, body), {
    role: ['manager', 'admin'],
    params: categoryParams,
    body: updateCategoryBody,
    response: {
      200: categorySchema,
      ...errorResponses(
        invalidInput('Category name must not be empty.'),
        invalidId('Category ID'),
        ...JSON_BODY_ERRORS,
        notFound('Category', 42),
        conflict('A category with this name already exists.'),
      ),
    },
    detail: {
      summary: 'Update a category',
      description: 'Managers and admins. Any subset of `name` and `description`; a name taken by another category (in any case) is a 409.',
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
