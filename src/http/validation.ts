import { z } from 'zod'

/**
 * Builds the one-sentence messages the API returns for a field. The submitted value is never
 * part of a message.
 */
export function fieldMessages(label: string) {
  return (issue: z.core.$ZodRawIssue): string => {
    if (issue.input === undefined && issue.code === 'invalid_type') return `${label} is required.`
    switch (issue.code) {
      case 'invalid_type':
        return `${label} must be ${describeType(issue.expected)}.`
      case 'too_small':
        if (issue.origin === 'string' && issue.minimum === 1) return `${label} must not be empty.`
        return issue.origin === 'string'
          ? `${label} must be at least ${characters(issue.minimum)} long.`
          : issue.origin === 'array'
            ? `${label} must contain at least ${issue.minimum} items.`
            : `${label} must be at least ${issue.minimum}.`
      case 'too_big':
        return issue.origin === 'string'
          ? `${label} must be at most ${characters(issue.maximum)} long.`
          : issue.origin === 'array'
            ? `${label} must contain at most ${issue.maximum} items.`
            : `${label} must be at most ${issue.maximum}.`
      case 'invalid_value':
        return `${label} must be one of: ${issue.values.map(String).join(', ')}.`
      default:
        return `${label} is invalid.`
    }
  }
}

const characters = (n: number | bigint) => `${n} character${n === 1 ? '' : 's'}`

function describeType(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer'
    case 'number':
      return 'a number'
    case 'string':
      return 'a string'
    case 'boolean':
      return 'true or false'
    case 'array':
      return 'an array'
    case 'object':
      return 'an object'
    default:
      return `of type ${expected}`
  }
}

/**
 * PostgreSQL text cannot hold U+0000 (the query fails), and an unpaired surrogate cannot be
 * written as UTF-8 (it would be stored as U+FFFD): such text is refused, never altered.
 */
const UNSTORABLE = /[\u0000\p{Cs}]/u
export const isStorable = (value: string) => !UNSTORABLE.test(value)
const unstorable = (label: string) => `${label} must not contain U+0000 or unpaired surrogate characters.`

/** A trimmed single-line text field such as a name. */
export const text = (label: string, min: number, max: number) => {
  const error = fieldMessages(label)
  return z.string({ error }).trim().min(min, { error }).max(max, { error }).refine(isStorable, { error: unstorable(label) })
}

/** Free text kept as sent (descriptions, search terms): bounded and storable. */
export const freeText = (label: string, max: number) => {
  const error = fieldMessages(label)
  return z.string({ error }).max(max, { error }).refine(isStorable, { error: unstorable(label) })
}

export const integer = (label: string, min: number, max: number) => {
  const messages = fieldMessages(label)
  // z.int() has a range of its own (±2^53-1): past it, the message names this field's real bounds.
  const error = (issue: z.core.$ZodRawIssue) =>
    issue.code === 'too_big' ? `${label} must be at most ${max}.` : issue.code === 'too_small' ? `${label} must be at least ${min}.` : messages(issue)
  return z.int({ error }).min(min, { error }).max(max, { error })
}

export const positiveIdMessage = (label: string) => `${label} must be a positive integer.`

/** An id as text: a positive 32-bit integer (PostgreSQL's integer), digits only ("1e3", " 5" and "05" are refused). */
const ID_DIGITS = /^[1-9]\d{0,9}$/
export const isIdText = (text: string) => ID_DIGITS.test(text) && Number(text) <= 2_147_483_647

/** A positive 32-bit id in the path. */
export const pathId = (label: string) =>
  z.object({
    // The type error too: a path segment that is not valid percent-encoding reaches zod as null.
    id: z
      .string({ error: positiveIdMessage(label) })
      .regex(ID_DIGITS, { error: positiveIdMessage(label) }) // the pattern, for the OpenAPI document
      .refine(isIdText, { error: positiveIdMessage(label) })
      .transform(Number)
      .meta({ description: `${label}: a positive integer.`, example: '1' }),
  })

export const integerRangeMessage = (label: string, min: number, max: number) =>
  `${label} must be an integer between ${min} and ${max}.`

/** An integer query parameter given as digits. */
export const queryInteger = (label: string, min: number, max: number) =>
  z
    // The type error too: a repeated parameter arrives as an array.
    .string({ error: integerRangeMessage(label, min, max) })
    .regex(/^\d{1,10}$/, { error: integerRangeMessage(label, min, max) })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: integerRangeMessage(label, min, max) })

/** The body of every error response. */
export const errorSchema = z.object({
  error: z.string().meta({ description: 'A short title, e.g. `Invalid input` or `Product not found`.' }),
  message: z.string().meta({ description: 'One sentence for a human.' }),
})

/** The success of an operation that answers 204 with no body. */
export const noContent = z.undefined().meta({ description: 'Done; the response has no body.' })
