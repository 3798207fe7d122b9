import type { MigrationInterface, QueryRunner } from "typeorm";
import { buildIndexConcurrently, runBulkStatement } from "../src/db/migration-statements";

/** Products whose links one backfill statement sets the flags of (each its own short transaction). */
const BACKFILL_PRODUCTS = 50_000

/** Each value of each flag, as the list conditions select it, and the other flag, which its count may filter on too. */
const FLAG_VALUES: Array<{ name: string; predicate: string; other: string; selective: boolean }> = [
    { name: 'in_stock', predicate: `"in_stock"`, other: 'low_stock', selective: false },
    { name: 'out_of_stock', predicate: `NOT "in_stock"`, other: 'low_stock', selective: true },
    { name: 'low_stock', predicate: `"low_stock"`, other: 'in_stock', selective: true },
    { name: 'not_low_stock', predicate: `NOT "low_stock"`, other: 'in_stock', selective: false },
]
const SORT_KEYS = ['name', 'price', 'created_at']

/**
 * A category with `in_stock` or `low_stock`: its count and pages read only its own links. Before,
 * the stock lived on the product alone, so counting `category_id=7&in_stock=true` joined the
 * category's links to the products (a merge join that read 102,473 products for 10,001 matches,
 * 21 ms at a million products), and `category_id=7&low_stock=true&sort=name` walked the category's
 * whole name index to find its few low-stock products (68 ms).
 *
 * The links now carry two flags: `in_stock` (stock above 0) and `low_stock` (stock below the
 * product's threshold), kept equal to the product's by the triggers that keep its sort keys, in
 * the same transaction. The stock itself is still not copied (it changes with every order); the
 * flags change only when an order, adjustment or edit crosses zero or the threshold, so the
 * trigger's condition is checked on every stock UPDATE but it writes only then.
 *
 * Indexes, partial: per value of each flag, the category's links in id order, (category_id,
 * product_id) including the other flag and the price, which count every mix of category, flags
 * and price range without reading the table and give a flag's page by id; and for the selective
 * values (low stock, out of stock), a (category_id, key, product_id) index per sort key and
 * direction, as the products have.
 *
 * Outside a transaction, so that the service keeps serving while it runs: the triggers first, then
 * the flags in short batches, then the indexes built CONCURRENTLY. Each step can run again.
 */
export class CategoryStockFlags1796200000000 implements MigrationInterface {
    name = 'CategoryStockFlags1796200000000'
    transaction = false

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "product_categories" ADD IF NOT EXISTS "in_stock" boolean, ADD IF NOT EXISTS "low_stock" boolean`);
        // A new link takes the product's keys and flags, whatever the path that writes it.
        await queryRunner.query(`CREATE OR REPLACE FUNCTION "product_link_copy_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                SELECT p.name, p.price, p.created_at, p.stock_quantity > 0, p.stock_quantity < p.low_stock_threshold
                INTO NEW.name, NEW.price, NEW.created_at, NEW.in_stock, NEW.low_stock FROM products p WHERE p.id = NEW.product_id;
                RETURN NEW;
            END
        $$`);
        await queryRunner.query(`CREATE OR REPLACE FUNCTION "product_links_follow_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE product_categories SET name = NEW.name, price = NEW.price, created_at = NEW.created_at,
                    in_stock = NEW.stock_quantity > 0, low_stock = NEW.stock_quantity < NEW.low_stock_threshold
                WHERE product_id = NEW.id;
                RETURN NULL;
            END
        $$`);
        await queryRunner.query(`DROP TRIGGER IF EXISTS "products_links_follow_sort_keys" ON "products"`);
        await queryRunner.query(`CREATE TRIGGER "products_links_follow_sort_keys"
            AFTER UPDATE OF "name", "price", "created_at", "stock_quantity", "low_stock_threshold" ON "products" FOR EACH ROW
            WHEN (OLD."name" IS DISTINCT FROM NEW."name" OR OLD."price" IS DISTINCT FROM NEW."price" OR OLD."created_at" IS DISTINCT FROM NEW."created_at"
                OR (OLD."stock_quantity" > 0) IS DISTINCT FROM (NEW."stock_quantity" > 0)
                OR (OLD."stock_quantity" < OLD."low_stock_threshold") IS DISTINCT FROM (NEW."stock_quantity" < NEW."low_stock_threshold"))
            EXECUTE FUNCTION "product_links_follow_sort_keys"()`);
        // The links written before the triggers. A product that crosses a line meanwhile has its links
        // set by its trigger first (they are then skipped here) or after this batch (which it overwrites).
        const [{ last }] = await queryRunner.query(`SELECT coalesce(max("product_id"), 0) AS last FROM "product_categories"`);
        for (let from = 0; from < last; from += BACKFILL_PRODUCTS) {
            await runBulkStatement(queryRunner, `UPDATE "product_categories" pc SET "in_stock" = p."stock_quantity" > 0, "low_stock" = p."stock_quantity" < p."low_stock_threshold"
                FROM "products" p WHERE p."id" = pc."product_id" AND pc."product_id" > ${from} AND pc."product_id" <= ${from + BACKFILL_PRODUCTS} AND pc."in_stock" IS NULL`);
        }
        await runBulkStatement(queryRunner, `ALTER TABLE "product_categories" ALTER "in_stock" SET NOT NULL, ALTER "low_stock" SET NOT NULL`);
        for (const { name, predicate, other, selective } of FLAG_VALUES) {
            await buildIndexConcurrently(queryRunner, `product_categories_${name}_idx`, `ON "product_categories" ("category_id", "product_id") INCLUDE ("${other}", "price") WHERE ${predicate}`);
            if (!selective) continue
            for (const key of SORT_KEYS) {
                for (const [suffix, direction] of [['idx', ''], ['desc_idx', ' DESC']] as const) {
                    await buildIndexConcurrently(queryRunner, `product_categories_${name}_${key}_${suffix}`, `ON "product_categories" ("category_id", "${key}"${direction}, "product_id") WHERE ${predicate}`);
                }
            }
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        // The triggers as CategorySortKeys made them: the sort keys only.
        await queryRunner.query(`CREATE OR REPLACE FUNCTION "product_link_copy_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                SELECT p.name, p.price, p.created_at INTO NEW.name, NEW.price, NEW.created_at FROM products p WHERE p.id = NEW.product_id;
                RETURN NEW;
            END
        $$`);
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
        // Dropping the columns drops their indexes.
        await queryRunner.query(`ALTER TABLE "product_categories" DROP COLUMN IF EXISTS "low_stock", DROP COLUMN IF EXISTS "in_stock"`);
    }

}
