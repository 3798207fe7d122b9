import type { MigrationInterface, QueryRunner } from 'typeorm'

/** The ledger's `import` reason: stock set by a CSV import (POST /products/import). */
export class ImportMovementReason1796116815750 implements MigrationInterface {
  name = 'ImportMovementReason1796116815750'

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check"`)
    await queryRunner.query(
      `ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("reason" IN ('initial', 'adjustment', 'order', 'import'))`,
    )
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_reason_check"`)
    await queryRunner.query(
      `ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_reason_check" CHECK ("reason" IN ('initial', 'adjustment', 'order'))`,
    )
  }
}
