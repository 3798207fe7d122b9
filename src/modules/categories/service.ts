import { dataSource } from '../../db/data-source'
import { onUniqueViolation } from '../../db/errors'
import type { z } from 'zod'
import { ifMatchHolds, strongTag, type Versioned } from '../../http/conditional'
import { conflict, notFound, preconditionFailed } from '../../http/errors'
import { preparedQuery } from '../../db/prepared'
import { fetchPage, listScope, pageRequest, type Page, type PageQuery, type PagedRow } from '../../http/pagination'
import { Category } from './category.entity'
import type { categorySchema, createCategoryBody, updateCategoryBody } from './schemas'
import { CATEGORY_LIST } from './sql'

export type PublicCategory = z.output<typeof categorySchema>
type CategoryFields = Pick<Category, 'id' | 'name' | 'description' | 'createdAt' | 'updatedAt'>

const categories = () => dataSource.getRepository(Category)

/** A category as the API shows it, from its entity or a list row (which selects the entity's field names). */
const toPublicCategory = (category: CategoryFields): PublicCategory => ({
  id: category.id,
  name: category.name,
  description: category.description,
  created_at: category.createdAt.toISOString(),
  updated_at: category.updatedAt.toISOString(),
})

const categoryTag = (category: Category) => strongTag(category.version)

const versioned = (category: Category): Versioned<PublicCategory> => ({ body: toPublicCategory(category), etag: categoryTag(category) })

/** A clash on the case-insensitive name index is the spec's 409. */
const uniqueName = <T>(write: () => Promise<T>) => onUniqueViolation(write, () => conflict('A category with this name already exists.'))

export async function createCategory(input: z.output<typeof createCategoryBody>): Promise<Versioned<PublicCategory>> {
  return versioned(await uniqueName(() => categories().save(categories().create(input))))
}

export async function listCategories(query: PageQuery): Promise<Page<PublicCategory>> {
  const request = pageRequest(query, listScope('categories', {}))
  return fetchPage(preparedQuery<CategoryFields & PagedRow>, CATEGORY_LIST, request, toPublicCategory)
}

export async function getCategory(id: number): Promise<Versioned<PublicCategory>> {
  const category = await categories().findOneBy({ id })
  if (!category) throw notFound('Category', id)
  return versioned(category)
}

/** Applies `changes` if `ifMatch` (an If-Match header) still names the current version, else 412 with nothing written. */
export async function updateCategory(
  id: number,
  changes: z.output<typeof updateCategoryBody>,
  ifMatch?: string,
): Promise<Versioned<PublicCategory>> {
  return dataSource.transaction(async (manager) => {
    // Locked so that a concurrent delete cannot make save() re-insert the row, nor a concurrent write slip past If-Match.
    const category = await manager.findOne(Category, { where: { id }, lock: { mode: 'pessimistic_write' } })
    if (!category) throw notFound('Category', id)
    if (!ifMatchHolds(ifMatch, categoryTag(category))) throw preconditionFailed('category')
    manager.merge(Category, category, changes)
    await uniqueName(() => manager.save(category))
    // Read back: the trigger's new version is not among the columns save() returns.
    return versioned(await manager.findOneByOrFail(Category, { id }))
  })
}

/** The foreign key's ON DELETE CASCADE removes the category's product links. */
export async function deleteCategory(id: number): Promise<void> {
  const result = await categories().delete({ id })
  if (!result.affected) throw notFound('Category', id)
}
