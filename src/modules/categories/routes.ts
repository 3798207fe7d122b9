import { Elysia } from 'elysia'
import { authPlugin } from '../../http/auth'
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
      response: { 201: categorySchema },
      detail: {
        summary: 'Create a category',
        description: 'Managers and admins. Names are unique regardless of case (409 Conflict).',
      },
    },
  )
  .get('', ({ query }) => listCategories(query.limit, query.offset), {
    auth: true,
    query: categoryListQuery,
    response: { 200: categoryPage },
    detail: { summary: 'List categories', description: 'Every category, ordered by name (then id), paginated. Any authenticated user.' },
  })
  .get('/:id', ({ params }) => getCategory(params.id), {
    auth: true,
    params: categoryParams,
    response: { 200: categorySchema },
    detail: { summary: 'Get a category', description: 'Any authenticated user; 404 Category not found when absent.' },
  })
  .put('/:id', ({ params, body }) => updateCategory(params.id, body), {
    role: ['manager', 'admin'],
    params: categoryParams,
    body: updateCategoryBody,
    response: { 200: categorySchema },
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
      detail: {
        summary: 'Delete a category',
        description: 'Admins only. Answers 204 with no body; the category is unlinked from its products, which are kept.',
      },
    },
  )
