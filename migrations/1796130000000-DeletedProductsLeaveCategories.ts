import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A deleted product leaves its categories (the product delete now removes its links in the same
 * transaction): a category's links are then exactly its live products, so `GET
 * /products?category_id=` counts them from the (category_id, product_id) index alone instead of
 * merging 100,000 product ids at a million products. This removes the links of products deleted
 * before. `down` cannot bring them back (nothing reads a deleted product's categories).
 */
export class DeletedProductsLeaveCategories1796130000000 implements MigrationInterface {
    name = 'DeletedProductsLeaveCategories1796130000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DELETE FROM "product_categories" pc USING "products" p WHERE p."id" = pc."product_id" AND p."deleted_at" IS NOT NULL`);
    }

    public async down(): Promise<void> {}
}
