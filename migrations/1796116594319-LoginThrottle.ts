import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The failed-login counters of rate-limiter-flexible's RateLimiterPostgres (its own column layout),
 * shared by every process and replica. Created here, so the limiter runs no DDL (tableCreated).
 */
export class LoginThrottle1796116594319 implements MigrationInterface {
    name = 'LoginThrottle1796116594319'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "login_throttle" ("key" character varying(255) NOT NULL, "points" integer NOT NULL DEFAULT 0, "expire" bigint, CONSTRAINT "login_throttle_pkey" PRIMARY KEY ("key"))`);
        // The limiter's periodic purge deletes by expiry.
        await queryRunner.query(`CREATE INDEX "login_throttle_expire_idx" ON "login_throttle" ("expire")`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."login_throttle_expire_idx"`);
        await queryRunner.query(`DROP TABLE "login_throttle"`);
    }

}
