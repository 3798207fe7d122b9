import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The optional stock-keeping unit. Unique regardless of case, like usernames and category names:
 * an expression index TypeORM cannot express, kept by hand. Partial on `sku IS NOT NULL` so that
 * the many products without one cost the index nothing, and on live products, as every product
 * query is: a deleted product (which reads as 404) frees its SKU for a new one. `GET /products?sku=`
 * searches this index.
 */
export class ProductSku1796116537937 implements MigrationInterface {
    name = 'ProductSku1796116537937'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "products" ADD "sku" character varying(64)`);
        await queryRunner.query(`CREATE UNIQUE INDEX "products_sku_lower_key" ON "products" (lower("sku")) WHERE "sku" IS NOT NULL AND "deleted_at" IS NULL`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."products_sku_lower_key"`);
        await queryRunner.query(`ALTER TABLE "products" DROP COLUMN "sku"`);
    }

}
