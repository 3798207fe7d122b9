import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A version per product and per category, the basis of their ETags. A trigger bumps it on every
 * UPDATE of the row, so that no path that changes a row (the one-statement order, stock
 * adjustments, imports, a PUT) can leave its version behind, and none needs code or a round trip
 * for it. bigint: a product ordered thousands of times a second would exhaust an integer in days.
 * The column is in no index, so an order's UPDATE stays a HOT update.
 */
export class RowVersions1796117332580 implements MigrationInterface {
    name = 'RowVersions1796117332580'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "products" ADD "version" bigint NOT NULL DEFAULT '1'`);
        await queryRunner.query(`ALTER TABLE "categories" ADD "version" bigint NOT NULL DEFAULT '1'`);
        await queryRunner.query(`CREATE FUNCTION "bump_row_version"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.version := OLD.version + 1;
                RETURN NEW;
            END
        $$`);
        await queryRunner.query(`CREATE TRIGGER "products_bump_version" BEFORE UPDATE ON "products" FOR EACH ROW EXECUTE FUNCTION "bump_row_version"()`);
        await queryRunner.query(`CREATE TRIGGER "categories_bump_version" BEFORE UPDATE ON "categories" FOR EACH ROW EXECUTE FUNCTION "bump_row_version"()`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TRIGGER "categories_bump_version" ON "categories"`);
        await queryRunner.query(`DROP TRIGGER "products_bump_version" ON "products"`);
        await queryRunner.query(`DROP FUNCTION "bump_row_version"()`);
        await queryRunner.query(`ALTER TABLE "categories" DROP COLUMN "version"`);
        await queryRunner.query(`ALTER TABLE "products" DROP COLUMN "version"`);
    }

}
