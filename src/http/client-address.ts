import { BlockList, isIP } from 'node:net'
import { config } from '../config'

const trustedProxies = new BlockList()
for (const { address, prefix, family } of config.TRUSTED_PROXIES) trustedProxies.addSubnet(address, prefix, family)

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4')
const isTrusted = (address: string) => isIP(address) !== 0 && trustedProxies.check(address, familyOf(address))
// A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; one client, one key.
const canonical = (address: string) => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase()

/** What Bun's server (Elysia's `server` in the context) tells of a request's socket. */
interface SocketInfo {
  requestIP(request: Request): { address: string } | null
}

/**
 * The client's address: the socket peer, or, when the peer is a trusted proxy (TRUSTED_PROXIES),
 * the nearest X-Forwarded-For entry that is not itself a trusted proxy (entries are appended by
 * each hop, so those left of an untrusted one may be forged). Undefined without a socket
 * (app.handle() in tests, a Unix socket).
 */
export function clientAddress(request: Request, server: SocketInfo | null | undefined): string | undefined {
  const peer = server?.requestIP(request)?.address
  if (!peer) return undefined
  let client = canonical(peer)
  if (!isTrusted(client)) return client
  const hops = (request.headers.get('x-forwarded-for') ?? '').split(',').map((hop) => canonical(hop.trim()))
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!
    if (isIP(hop) === 0) break // garbage: keep the last address that was vouched for
    client = hop
    if (!isTrusted(hop)) break
  }
  return client
}
