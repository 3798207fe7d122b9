import { z } from 'zod'
import { pagination, pageSchema } from '../../http/pagination'
import { freeText, pathId, text } from '../../http/validation'

const name = text('Category name', 1, 100).meta({
  description: 'Unique regardless of case; 1–100 characters (surrounding spaces are trimmed).',
  example: 'Power tools',
})
const description = freeText('Category description', 2000)
  .nullable()
  .meta({ description: 'Free text, up to 2000 characters; `null` for none.', example: 'Drills, saws and sanders.' })

export const createCategoryBody = z.object({ name, description: description.default(null) })

export const updateCategoryBody = z
  .object({ name: name.optional(), description: description.optional() })
  .meta({ description: 'Any subset of the fields; the others keep their value.' })

export const categorySchema = z
  .object({
    id: z.int(),
    name: z.string(),
    description: z.string().nullable(),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({
    description: 'A category.',
    example: {
      id: 3,
      name: 'Power tools',
      description: 'Drills, saws and sanders.',
      created_at: '2026-01-31T12:00:00.000Z',
      updated_at: '2026-01-31T12:00:00.000Z',
    },
  })

export const categoryParams = pathId('Category ID')
export const categoryListQuery = z.object(pagination)
export const categoryPage = pageSchema(categorySchema)
