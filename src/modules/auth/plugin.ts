import { Elysia } from 'elysia'
import { errorResponses } from '../../http/error-responses'
import { clientAddress } from '../../http/client-address'
import { forbidden } from '../../http/errors'
import { setRequestUser } from '../../http/request-context'
import type { Role } from '../users/user.entity'
import { malformedHeader, missingCredentials, parseAuthorization } from './credentials'
import { authenticateBasic, invalidCredentials, principalFromToken, type Principal } from './service'
import { THROTTLE_ERRORS } from './throttle'
import { invalidToken, tokenSigner, verifyToken, type TokenVerifier } from './tokens'

type Socket = Parameters<typeof clientAddress>[1]

async function authenticate(request: Request, jwt: TokenVerifier, server: Socket): Promise<Principal> {
  const credentials = parseAuthorization(request.headers.get('authorization'))
  if (!credentials) throw missingCredentials()
  let principal: Principal | undefined
  if (credentials.scheme === 'basic') {
    principal = await authenticateBasic(credentials.value, clientAddress(request, server))
  } else if (credentials.scheme === 'bearer' && credentials.value) {
    const claims = await verifyToken(credentials.value, jwt)
    principal = await principalFromToken(claims.userId, claims.ver)
    if (!principal) throw invalidToken()
  } else {
    throw malformedHeader()
  }
  setRequestUser(request, principal.id)
  return principal
}

const principals = new WeakMap<Request, Principal | null>()

/** The OpenAPI security requirement of a protected route, so "Authorize" in Swagger UI applies to it. */
const SIGNED_IN: Array<Record<string, string[]>> = [{ basic: [] }, { bearer: [] }]

// The failures of sent credentials, for the OpenAPI document: each macro declares what it can
// answer, so every protected operation lists them. Basic shares the login throttle (429).
const CREDENTIAL_ERRORS = [invalidCredentials(), invalidToken(), malformedHeader(), ...THROTTLE_ERRORS]

/**
 * Authentication and roles for routes: `{ auth: true }`, `{ role: ['admin'] }`, or
 * `{ optionalAuth: true }` (anonymous allowed, credentials checked when sent). Credentials are
 * checked in `transform`, before the body is validated, so a bad login is a 401 rather than a 400.
 */
export const authPlugin = new Elysia({ name: 'auth' })
  .use(tokenSigner)
  .macro({
    auth: {
      detail: { security: SIGNED_IN },
      response: errorResponses(missingCredentials(), ...CREDENTIAL_ERRORS),
      async transform({ request, jwt, server }) {
        principals.set(request, await authenticate(request, jwt, server))
      },
      resolve: ({ request }) => ({ user: principals.get(request) as Principal }),
    },
    role: (roles: Role[]) => ({
      detail: { security: SIGNED_IN },
      response: errorResponses(missingCredentials(), ...CREDENTIAL_ERRORS, forbidden()),
      async transform({ request, jwt, server }) {
        const principal = await authenticate(request, jwt, server)
        if (!roles.includes(principal.role)) throw forbidden()
        principals.set(request, principal)
      },
      resolve: ({ request }) => ({ user: principals.get(request) as Principal }),
    }),
    optionalAuth: {
      // `{}` marks anonymous access as allowed too.
      detail: { security: [{}, ...SIGNED_IN] },
      response: errorResponses(...CREDENTIAL_ERRORS),
      async transform({ request, jwt, server }) {
        principals.set(request, request.headers.has('authorization') ? await authenticate(request, jwt, server) : null)
      },
      resolve: ({ request }) => ({ user: principals.get(request) ?? null }),
    },
  })
