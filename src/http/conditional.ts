/**
 * Conditional requests (RFC 9110 §8.8.3 and §13.1): entity tags, `If-Match` on writes and
 * `If-None-Match` on reads. The API's tags are strong (they change with every change of the
 * representation), so they can serve If-Match, which compares strongly.
 */
import type { DocumentDecoration } from 'elysia'
import { z } from 'zod'

/** A strong entity tag: the opaque value, quoted. */
export const strongTag = (opaque: string) => `"${opaque}"`

/** A representation with the entity tag of its current version. */
export interface Versioned<T> {
  body: T
  etag: string
}

interface EntityTag {
  weak: boolean
  /** With its quotes, as it is compared. */
  opaque: string
}

/** `*`, or a comma-separated list of entity tags; anything else (e.g. an unquoted tag) is undefined. */
function parseTagList(header: string): '*' | EntityTag[] | undefined {
  if (header.trim() === '*') return '*'
  const tags: EntityTag[] = []
  // Members of the list; empty ones are allowed (RFC 9110 §5.6.1). etagc excludes only DQUOTE, controls and space.
  const member = /\s*(?:(W\/)?("[\x21\x23-\x7e\x80-\xff]*"))?\s*(?:,|$)/y
  while (member.lastIndex < header.length) {
    const start = member.lastIndex
    const match = member.exec(header)
    if (!match || member.lastIndex === start) return undefined
    if (match[2]) tags.push({ weak: match[1] !== undefined, opaque: match[2] })
  }
  return tags
}

/**
 * Whether a write may go ahead: no If-Match, `*` (the resource exists), or a list naming the
 * current tag under strong comparison (a weak tag never matches). An unreadable header matches nothing.
 */
export function ifMatchHolds(header: string | undefined, current: string): boolean {
  if (header === undefined) return true
  const tags = parseTagList(header)
  return tags === '*' || (tags?.some((tag) => !tag.weak && tag.opaque === current) ?? false)
}

/** Whether a read may answer 304 Not Modified: If-None-Match is `*` or names the current tag, weakly compared. */
export function ifNoneMatchFails(header: string | undefined, current: string): boolean {
  if (header === undefined) return false
  const tags = parseTagList(header)
  return tags === '*' || (tags?.some((tag) => tag.opaque === current) ?? false)
}

export const ifNoneMatchHeaders = z.object({
  'if-none-match': z.string().max(2000).optional().meta({
    description: 'An `ETag` from an earlier read: when it is still current, the answer is 304 Not Modified with no body.',
    example: '"3-5yd2wqkcb2ax"',
  }),
})

export const ifMatchHeaders = z.object({
  'if-match': z.string().max(2000).optional().meta({
    description:
      'The `ETag` of the read this write is based on: when the resource has changed since, the answer is 412 Precondition failed and nothing is written.',
    example: '"3-5yd2wqkcb2ax"',
  }),
})

/** An OpenAPI extension the document's finishing step turns into the ETag header of the responses. */
export const SENDS_ETAG = 'x-sends-etag'
/** Spread into a route's `detail`: its responses carry the ETag header. */
export const sendsEtag = { [SENDS_ETAG]: true } as DocumentDecoration

/** The 304 of a conditional read: no body. */
export const notModified = z.undefined().meta({ description: 'Not modified: the `If-None-Match` tag is current; no body.' })

type ResponseSet = { status?: number | string; headers: Record<string, unknown> }

/** The representation, its ETag in the response headers. */
export function tagged<T>(set: ResponseSet, { body, etag }: Versioned<T>): T {
  set.headers.etag = etag
  return body
}

/** A read honouring If-None-Match: the representation, or a 304 with its ETag and no body. */
export function conditionalRead<T>(set: ResponseSet, ifNoneMatch: string | undefined, representation: Versioned<T>): T | undefined {
  const body = tagged(set, representation)
  if (!ifNoneMatchFails(ifNoneMatch, representation.etag)) return body
  set.status = 304
  return undefined
}
