import { jwt } from '@elysiajs/jwt'
import { Elysia } from 'elysia'
import { config } from '../config'
import { authenticateBasic, invalidCredentials, principalFromToken, type Principal } from '../modules/auth/service'
import type { Role } from '../modules/users/user.entity'
import { clientAddress } from './client-address'
import { errorResponses } from './error-responses'
import { forbidden, tooManyPasswordChecks, tooManyRequests, unauthorized } from './errors'
import { setRequestUser } from './request-context'

export type { Principal }

const missingCredentials = () => unauthorized('Authentication is required: send Basic credentials or a Bearer token.')
const malformedHeader = () => unauthorized('The Authorization header is malformed.')
const invalidToken = () => unauthorized('The token is invalid or has expired.')

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** RFC 7617: base64 of UTF-8 "user:password", split at the first colon. */
export function parseBasic(encoded: string): { username: string; password: string } {
  if (!encoded || encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw malformedHeader()
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    throw malformedHeader()
  }
  const colon = decoded.indexOf(':')
  if (colon < 1) throw malformedHeader()
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

export const tokenSigner = jwt({
  name: 'jwt',
  secret: config.JWT_SECRET,
  alg: 'HS256',
  iss: config.JWT_ISSUER,
  aud: config.JWT_AUDIENCE,
})

type TokenVerifier = (typeof tokenSigner)['decorator']['jwt']

interface TokenClaims {
  sub: string
  ver: unknown
  /** Expiry, in seconds since the epoch. */
  exp: number
}

/**
 * Tokens whose signature and claims have checked out, until they expire. Signature verification
 * (jose over WebCrypto, with a key import each time) is the largest cost of a Bearer request, and
 * a token that verified once verifies again until its `exp`: the string is signed, so it cannot
 * change. Only verified tokens enter, so a client cannot fill it with garbage. The user behind the
 * token is still checked on every request (principalFromToken).
 */
const verifiedTokens = new Map<string, TokenClaims>()
const VERIFIED_TOKENS_MAX = 10_000

async function verifyToken(token: string, jwt: TokenVerifier): Promise<TokenClaims> {
  const now = Date.now() / 1000
  const cached = verifiedTokens.get(token)
  if (cached) {
    if (cached.exp > now) return cached
    verifiedTokens.delete(token)
  }
  // The algorithm is pinned and exp required: alg "none", other algorithms and eternal tokens fail here.
  const claims = await jwt.verify(token, {
    algorithms: ['HS256'],
    requiredClaims: ['exp', 'iat', 'sub'],
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  })
  if (!claims || typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw invalidToken()
  const verified = { sub: claims.sub, ver: claims.ver, exp: claims.exp }
  if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) verifiedTokens.clear()
  verifiedTokens.set(token, verified)
  return verified
}

type Socket = Parameters<typeof clientAddress>[1]

async function authenticate(request: Request, jwt: TokenVerifier, server: Socket): Promise<Principal> {
  const header = request.headers.get('authorization')
  if (!header) throw missingCredentials()
  const space = header.indexOf(' ')
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase()
  const credentials = space < 0 ? '' : header.slice(space + 1).trim()

  let principal: Principal | undefined
  if (scheme === 'basic') {
    principal = await authenticateBasic(credentials, parseBasic, clientAddress(request, server))
  } else if (scheme === 'bearer') {
    if (!credentials) throw malformedHeader()
    const claims = await verifyToken(credentials, jwt)
    principal = await principalFromToken(claims.sub, claims.ver)
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
export const THROTTLE_ERRORS = [tooManyRequests(config.LOGIN_LOCKOUT_SECONDS), tooManyPasswordChecks(1)]
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
