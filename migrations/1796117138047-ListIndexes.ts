import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * An index for every sort and filter the lists offer, so that a page (and its count, bounded at
 * LIST_COUNT_LIMIT) reads only its own rows at any table size. Product indexes are partial on live
 * products, as every list query is. Descending sorts break ties by id ascending, an order a
 * backward scan of (key, id) cannot give: each has its own (key DESC, id) index.
 *
 * Cost: sorting and filtering by stock needs stock_quantity in an index, so an order's UPDATE of
 * the stock is no longer a HOT update and touches the product indexes (measured in bench/README.md).
 */
export class ListIndexes1796117138047 implements MigrationInterface {
    name = 'ListIndexes1796117138047'

    public async up(queryRunner: QueryRunner): Promise<void> {
        // The default sort (id) and the count of live products, index-only.
        await queryRunner.query(`CREATE INDEX "products_live_id_idx" ON "products" ("id") WHERE "deleted_at" IS NULL`);
        // sort=stock, and in_stock=true|false (a range of stock_quantity, ordered by id within stock = 0).
        await queryRunner.query(`CREATE INDEX "products_stock_idx" ON "products" ("stock_quantity", "id") WHERE "deleted_at" IS NULL`);
        // sort=-name, -price, -stock, -created_at: key descending, ties by id ascending.
        await queryRunner.query(`CREATE INDEX "products_name_desc_idx" ON "products" ("name" DESC, "id") WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_price_desc_idx" ON "products" ("price" DESC, "id") WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_stock_desc_idx" ON "products" ("stock_quantity" DESC, "id") WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_created_at_desc_idx" ON "products" ("created_at" DESC, "id") WHERE "deleted_at" IS NULL`);
        // low_stock=true: the few products below their threshold, by id.
        await queryRunner.query(`CREATE INDEX "products_low_stock_idx" ON "products" ("id") WHERE "deleted_at" IS NULL AND "stock_quantity" < "low_stock_threshold"`);
        // category_id: a category's products in id order, to merge with the product indexes.
        await queryRunner.query(`CREATE INDEX "product_categories_category_product_idx" ON "product_categories" ("category_id", "product_id")`);
        // GET /categories: by name, then id.
        await queryRunner.query(`CREATE INDEX "categories_name_id_idx" ON "categories" ("name", "id")`);
        // Orders per customer (user_id, id), movements per product (product_id, id), and the primary
        // keys of orders, alerts and users already serve their lists.
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."categories_name_id_idx"`);
        await queryRunner.query(`DROP INDEX "public"."product_categories_category_product_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_low_stock_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_created_at_desc_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_stock_desc_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_price_desc_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_name_desc_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_stock_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_live_id_idx"`);
    }

}
