import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Indexes for the product list: trigram GIN indexes so that `q` (ILIKE '%…%' on name and
 * description) is an index search rather than a scan of every product, and btree indexes for the
 * price filters and the name / price / created_at sorts. All are partial on live products, as
 * every list query is. Nothing indexes stock_quantity or updated_at on purpose: an order changes
 * only those two columns, so its UPDATE stays a HOT update that touches no index at all.
 */
export class ProductSearchIndexes1795250382582 implements MigrationInterface {
    name = 'ProductSearchIndexes1795250382582'

    public async up(queryRunner: QueryRunner): Promise<void> {
        // A trusted extension since PostgreSQL 13: the database owner may create it.
        await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
        await queryRunner.query(`CREATE INDEX "products_name_trgm_idx" ON "products" USING gin ("name" gin_trgm_ops) WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_description_trgm_idx" ON "products" USING gin ("description" gin_trgm_ops) WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_price_idx" ON "products" ("price", "id") WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_name_idx" ON "products" ("name", "id") WHERE "deleted_at" IS NULL`);
        await queryRunner.query(`CREATE INDEX "products_created_at_idx" ON "products" ("created_at", "id") WHERE "deleted_at" IS NULL`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."products_created_at_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_name_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_price_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_description_trgm_idx"`);
        await queryRunner.query(`DROP INDEX "public"."products_name_trgm_idx"`);
        // Left installed: other objects of the database may have come to use it.
    }

}
