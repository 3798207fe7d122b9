import type { MigrationInterface, QueryRunner } from "typeorm";
import { buildIndexConcurrently, runBulkStatement } from "../src/db/migration-statements";

/** Products whose links one backfill statement copies the keys to (each its own short transaction). */
const BACKFILL_PRODUCTS = 50_000

const KEYS = ['name', 'price', 'created_at']

/**
 * A category's products sorted by name, price or created_at, read from an index of their own.
 * Before, such a page walked the products' sort index and kept those in the category: a category
 * whose products all sit at the far end of the sort (a "Clearance" category with `sort=-price`)
 * read nearly every product first, 7.7 s at a million products. The links now carry a copy of the
 * three sort keys, kept equal to the product's by triggers in the same transaction, and each key
 * has a (category_id, key, product_id) index per direction (ties by id ascending either way).
 *
 * Stock is not copied: it changes with every order, and copying it would make every order update
 * the product's links and their indexes. A category sorted by stock still walks the stock index.
 * The triggers fire only when a copied key changes, never on an order's stock UPDATE.
 *
 * Outside a transaction, so that the service keeps serving while it runs (39 s at a million
 * products here): the triggers first, then the copy in short batches, then the indexes built
 * CONCURRENTLY. Each step can run again, should the migration be interrupted.
 */
export class CategorySortKeys1796180000000 implements MigrationInterface {
    name = 'CategorySortKeys1796180000000'
    transaction = false

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "product_categories" ADD IF NOT EXISTS "name" character varying(200), ADD IF NOT EXISTS "price" numeric(12,2), ADD IF NOT EXISTS "created_at" TIMESTAMP WITH TIME ZONE`);
        // A new link takes the product's keys, whatever the path that writes it (a PUT, an import).
        await queryRunner.query(`CREATE OR REPLACE FUNCTION "product_link_copy_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                SELECT p.name, p.price, p.created_at INTO NEW.name, NEW.price, NEW.created_at FROM products p WHERE p.id = NEW.product_id;
                RETURN NEW;
            END
        $$`);
        await queryRunner.query(`DROP TRIGGER IF EXISTS "product_categories_copy_sort_keys" ON "product_categories"`);
        await queryRunner.query(`CREATE TRIGGER "product_categories_copy_sort_keys" BEFORE INSERT ON "product_categories" FOR EACH ROW EXECUTE FUNCTION "product_link_copy_sort_keys"()`);
        // A product's new keys reach its links in the same transaction.
        await queryRunner.query(`CREATE OR REPLACE FUNCTION "product_links_follow_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE product_categories SET name = NEW.name, price = NEW.price, created_at = NEW.created_at WHERE product_id = NEW.id;
                RETURN NULL;
            END
        $$`);
        await queryRunner.query(`DROP TRIGGER IF EXISTS "products_links_follow_sort_keys" ON "products"`);
        await queryRunner.query(`CREATE TRIGGER "products_links_follow_sort_keys" AFTER UPDATE OF "name", "price", "created_at" ON "products" FOR EACH ROW
            WHEN (OLD."name" IS DISTINCT FROM NEW."name" OR OLD."price" IS DISTINCT FROM NEW."price" OR OLD."created_at" IS DISTINCT FROM NEW."created_at")
            EXECUTE FUNCTION "product_links_follow_sort_keys"()`);
        // The links written before the triggers. A product changed meanwhile has its links updated by
        // its trigger under the same row locks: whichever writes second writes the current keys.
        const [{ last }] = await queryRunner.query(`SELECT coalesce(max("product_id"), 0) AS last FROM "product_categories"`);
        for (let from = 0; from < last; from += BACKFILL_PRODUCTS) {
            await runBulkStatement(queryRunner, `UPDATE "product_categories" pc SET "name" = p."name", "price" = p."price", "created_at" = p."created_at"
                FROM "products" p WHERE p."id" = pc."product_id" AND pc."product_id" > ${from} AND pc."product_id" <= ${from + BACKFILL_PRODUCTS} AND pc."name" IS NULL`);
        }
        // A scan under a short exclusive lock (a second at a million products).
        await runBulkStatement(queryRunner, `ALTER TABLE "product_categories" ALTER "name" SET NOT NULL, ALTER "price" SET NOT NULL, ALTER "created_at" SET NOT NULL`);
        for (const key of KEYS) {
            for (const [suffix, direction] of [['idx', ''], ['desc_idx', ' DESC']]) {
                await buildIndexConcurrently(queryRunner, `product_categories_${key}_${suffix}`, `ON "product_categories" ("category_id", "${key}"${direction}, "product_id")`);
            }
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TRIGGER IF EXISTS "products_links_follow_sort_keys" ON "products"`);
        await queryRunner.query(`DROP FUNCTION IF EXISTS "product_links_follow_sort_keys"()`);
        await queryRunner.query(`DROP TRIGGER IF EXISTS "product_categories_copy_sort_keys" ON "product_categories"`);
        await queryRunner.query(`DROP FUNCTION IF EXISTS "product_link_copy_sort_keys"()`);
        // Dropping the columns drops their indexes.
        await queryRunner.query(`ALTER TABLE "product_categories" DROP COLUMN IF EXISTS "created_at", DROP COLUMN IF EXISTS "price", DROP COLUMN IF EXISTS "name"`);
    }

}
