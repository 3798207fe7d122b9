import type { MigrationInterface, QueryRunner } from "typeorm";
import { buildIndexConcurrently } from "../src/db/migration-statements";

/** The two filters that keep a small share of the products, as the list conditions write them. */
const FILTERS: Array<[string, string]> = [
    ['low_stock', `"stock_quantity" < "low_stock_threshold"`],
    ['out_of_stock', `"stock_quantity" = 0`],
]

/** Each filter's sorts that no index served: `low_stock` by id and `in_stock=false` by id or stock have one. */
const SORTS: Record<string, string[]> = {
    low_stock: ['name', 'price', 'stock_quantity', 'created_at'],
    out_of_stock: ['name', 'price', 'created_at'],
}

/**
 * `low_stock=true` and `in_stock=false` with any sort: an index of their own products per sort key
 * and direction. Before, such a page walked the sort's index over every product and kept the few
 * that match: at a million products `low_stock=true&sort=name` read the 600,000 products named
 * before the first low-stock one (1.5 s), and `sort=-stock` read all but the low-stock ones, which
 * have the least stock. The indexes are partial, so they hold only those products: an order's
 * stock update writes to them only when the product is (or stays) low or out of stock.
 *
 * Outside a transaction, built CONCURRENTLY, so that the service keeps serving; can run again.
 */
export class SelectiveFilterSortIndexes1796190000000 implements MigrationInterface {
    name = 'SelectiveFilterSortIndexes1796190000000'
    transaction = false

    public async up(queryRunner: QueryRunner): Promise<void> {
        for (const [filter, predicate] of FILTERS) {
            for (const key of SORTS[filter]!) {
                for (const [suffix, direction] of [['idx', ''], ['desc_idx', ' DESC']] as const) {
                    await buildIndexConcurrently(queryRunner, indexName(filter, key, suffix), `ON "products" ("${key}"${direction}, "id") WHERE "deleted_at" IS NULL AND ${predicate}`);
                }
            }
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        for (const [filter] of FILTERS) {
            for (const key of SORTS[filter]!) {
                for (const suffix of ['idx', 'desc_idx']) await queryRunner.query(`DROP INDEX IF EXISTS "${indexName(filter, key, suffix)}"`);
            }
        }
    }

}

const indexName = (filter: string, key: string, suffix: string) => `products_${filter}_${key === 'stock_quantity' ? 'stock' : key}_${suffix}`
