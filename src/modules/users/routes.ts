import { Elysia } from 'elysia'
import { authPlugin } from '../../http/auth'
import { forbidden, notFound } from '../../http/errors'
import { createUserBody, userListQuery, userPage, userParams, userSchema } from './schemas'
import { createUser, getUser, listUsers } from './service'

export const userRoutes = new Elysia({ prefix: '/users', tags: ['Users'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, user, set }) => {
      // Anyone may register a customer; only an admin may create managers and admins.
      if (body.role !== 'customer' && user?.role !== 'admin') throw forbidden()
      set.status = 201
      return createUser(body)
    },
    {
      optionalAuth: true,
      body: createUserBody,
      response: { 201: userSchema },
      detail: {
        summary: 'Register a user',
        description:
          'Creates a user. Anyone may register a `customer`; creating a `manager` or `admin` requires an admin. Usernames are unique regardless of case (409).',
      },
    },
  )
  .get('', ({ query }) => listUsers(query.limit, query.offset), {
    role: ['admin'],
    query: userListQuery,
    response: { 200: userPage },
    detail: { summary: 'List users', description: 'All users, oldest first, paginated. Admins only.' },
  })
  .get(
    '/:id',
    ({ params, user }) => {
      // Another user's account reads as absent: its existence is not revealed.
      if (user.role !== 'admin' && user.id !== params.id) throw notFound('User', params.id)
      return getUser(params.id)
    },
    {
      auth: true,
      params: userParams,
      response: { 200: userSchema },
      detail: { summary: 'Get a user', description: 'Admins may read any user; everyone else only themselves (others read as 404).' },
    },
  )
