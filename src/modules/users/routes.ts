import { Elysia } from 'elysia'
import { authPlugin } from '../auth/plugin'
import { errorResponses, invalidId, JSON_BODY_ERRORS } from '../../http/error-responses'
import { PAGE_ERRORS } from '../../http/pagination'
import { conflict, forbidden, invalidInput, notFound } from '../../http/errors'
import { noContent } from '../../http/validation'
import { createUserBody, updateUserBody, userListQuery, userPage, userParams, userSchema } from './schemas'
import { deleteUser, getUser, listUsers, registerUser, updateUser } from './service'

export const userRoutes = new Elysia({ prefix: '/users', tags: ['Users'] })
  .use(authPlugin)
  .post(
    '',
    async ({ body, user, set }) => {
      const created = await registerUser(user, body)
      set.status = 201
      return created
    },
    {
      optionalAuth: true,
      body: createUserBody,
      response: {
        201: userSchema,
        ...errorResponses(
          invalidInput('Username is required.'),
          invalidInput('Password is required.'),
          ...JSON_BODY_ERRORS,
          forbidden(),
          conflict('The username is already taken.'),
        ),
      },
      detail: {
        summary: 'Register a user',
        description:
          'Creates a user. Anyone may register a `customer`; creating a `manager` or `admin` requires an admin (403 otherwise). Credentials are optional, and checked when sent. Usernames are unique regardless of case (409).',
      },
    },
  )
  .get('', ({ query }) => listUsers(query), {
    role: ['admin'],
    query: userListQuery,
    response: { 200: userPage, ...errorResponses(...PAGE_ERRORS) },
    detail: { summary: 'List users', description: 'All users, oldest first, paginated. Admins only.' },
  })
  .get(
    '/:id',
    ({ params, user }) => getUser(user, params.id),
    {
      auth: true,
      params: userParams,
      response: { 200: userSchema, ...errorResponses(invalidId('User ID'), notFound('User', 42)) },
      detail: { summary: 'Get a user', description: 'Admins may read any user; everyone else only themselves (others read as 404).' },
    },
  )
  .put('/:id', ({ params, body, user }) => updateUser(user, params.id, body), {
    auth: true,
    params: userParams,
    body: updateUserBody,
    response: {
      200: userSchema,
      ...errorResponses(
        invalidInput('Send a new password, a new role, or both.'),
        invalidId('User ID'),
        ...JSON_BODY_ERRORS,
        forbidden(),
        notFound('User', 42),
        conflict('The last admin cannot be demoted.'),
      ),
    },
    detail: {
      summary: 'Change a password or role',
      description:
        'A user may change their own password (tokens issued before stop working); an admin may change anyone\'s password or role (the new role applies at once, existing tokens included), and a `role` from anyone else is a 403. Another user\'s account reads as 404 to non-admins; the last admin cannot be demoted (409).',
    },
  })
  .delete(
    '/:id',
    async ({ params, set }) => {
      await deleteUser(params.id)
      set.status = 204
    },
    {
      role: ['admin'],
      params: userParams,
      response: {
        204: noContent,
        ...errorResponses(invalidId('User ID'), notFound('User', 42), conflict('The last admin cannot be deleted.')),
      },
      detail: {
        summary: 'Delete a user',
        description: 'Admins only. Their orders are kept (without an owner); their credentials and tokens stop working at once. The last admin cannot be deleted (409).',
      },
    },
  )
