import { jwt } from '@elysiajs/jwt'
import { config } from '../../config'
import { unauthorized } from '../../http/errors'
import { isIdText } from '../../http/validation'

export const invalidToken = () => unauthorized('The token is invalid or has expired.')

/** The `jwt` decorator: signs at POST /login, verifies in the auth plugin. */
export const tokenSigner = jwt({
  name: 'jwt',
  secret: config.JWT_SECRET,
  alg: 'HS256',
  iss: config.JWT_ISSUER,
  aud: config.JWT_AUDIENCE,
})

export type TokenVerifier = (typeof tokenSigner)['decorator']['jwt']

/**
 * How far in the future a token's `iat` may be: the clocks of replicas differ by seconds, and a
 * token issued later than that was not issued by one of them (a leaked key's long-lived forgery).
 */
const IAT_LEEWAY_SECONDS = 60

interface TokenClaims {
  /** `sub`, the user id. */
  userId: number
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

export async function verifyToken(token: string, jwt: TokenVerifier): Promise<TokenClaims> {
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
  if (!claims || typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.iat > now + IAT_LEEWAY_SECONDS) throw invalidToken()
  // Signed is not sensible: an id no row can have would fail in PostgreSQL (integer out of range).
  if (typeof claims.sub !== 'string' || !isIdText(claims.sub)) throw invalidToken()
  const verified = { userId: Number(claims.sub), ver: claims.ver, exp: claims.exp }
  if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) verifiedTokens.clear()
  verifiedTokens.set(token, verified)
  return verified
}
