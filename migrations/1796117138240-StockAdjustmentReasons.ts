import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The ledger's reasons for stock adjustments (restock, return, damage, loss, count, correction)
 * and for CSV imports (import), beside initial, adjustment (a PUT of stock) and order; and the
 * adjustment's free-text note (at most 500 characters, null for none).
 */
export class StockAdjustmentReasons1796117138240 implements MigrationInterface {
    name = 'StockAdjustmentReasons1796117138240'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "stock_movements" ADD "note" character varying(500)`);
        await queryRunner.query(`ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check"`);
        await queryRunner.query(`ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("reason" IN ('initial', 'adjustment', 'order', 'import', 'restock', 'return', 'damage', 'loss', 'count', 'correction'))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check"`);
        await queryRunner.query(`ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("reason" IN ('initial', 'adjustment', 'order'))`);
        await queryRunner.query(`ALTER TABLE "stock_movements" DROP COLUMN "note"`);
    }

}
