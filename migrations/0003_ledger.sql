CREATE TABLE `commission_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`city_id` text NOT NULL,
	`category` text NOT NULL,
	`rate_bp` integer NOT NULL,
	`min_cents` integer,
	`max_cents` integer,
	`effective_from` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`city_id`) REFERENCES `cities`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "commission_rules_values_check" CHECK(rate_bp BETWEEN 0 AND 10000 AND (min_cents IS NULL OR min_cents >= 0) AND (max_cents IS NULL OR max_cents >= COALESCE(min_cents, 0)))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `commission_rules_version_unique` ON `commission_rules` (`city_id`,`category`,`effective_from`);--> statement-breakpoint
CREATE TABLE `ledger_accounts` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_type` text NOT NULL,
	`owner_id` text NOT NULL,
	`kind` text NOT NULL,
	`normal_side` text NOT NULL,
	`balance` integer DEFAULT 0 NOT NULL,
	`version` integer DEFAULT 0 NOT NULL,
	`floor` integer,
	`created_at` text NOT NULL,
	CONSTRAINT "ledger_accounts_normal_side_check" CHECK(normal_side IN ('debit', 'credit'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_accounts_owner_kind_unique` ON `ledger_accounts` (`owner_type`,`owner_id`,`kind`);--> statement-breakpoint
CREATE TABLE `ledger_entries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`transaction_id` text NOT NULL,
	`account_id` text NOT NULL,
	`amount` integer NOT NULL,
	`enforce_floor` integer DEFAULT true NOT NULL,
	`effective_at` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`transaction_id`) REFERENCES `ledger_transactions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`account_id`) REFERENCES `ledger_accounts`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ledger_entries_amount_check" CHECK(amount <> 0)
);
--> statement-breakpoint
CREATE INDEX `ledger_entries_account_idx` ON `ledger_entries` (`account_id`,`id`);--> statement-breakpoint
CREATE INDEX `ledger_entries_transaction_idx` ON `ledger_entries` (`transaction_id`);--> statement-breakpoint
CREATE TABLE `ledger_posting_checks` (
	`transaction_id` text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE `ledger_transactions` (
	`id` text PRIMARY KEY NOT NULL,
	`idempotency_key` text NOT NULL,
	`request_hash` text NOT NULL,
	`kind` text NOT NULL,
	`reference_type` text NOT NULL,
	`reference_id` text NOT NULL,
	`reverses_id` text,
	`effective_at` text NOT NULL,
	`created_at` text NOT NULL,
	`memo` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_transactions_idempotency_unique` ON `ledger_transactions` (`idempotency_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `ledger_transactions_reverses_unique` ON `ledger_transactions` (`reverses_id`);--> statement-breakpoint
CREATE INDEX `ledger_transactions_reference_idx` ON `ledger_transactions` (`reference_type`,`reference_id`);--> statement-breakpoint
CREATE INDEX `ledger_transactions_effective_idx` ON `ledger_transactions` (`effective_at`);--> statement-breakpoint
CREATE TABLE `payouts` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`fee_cents` integer NOT NULL,
	`pix_key` text NOT NULL,
	`pix_key_type` text NOT NULL,
	`status` text NOT NULL,
	`rail` text NOT NULL,
	`rail_reference` text,
	`request_transaction_id` text NOT NULL,
	`outcome_transaction_id` text,
	`failure_reason` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "payouts_amount_check" CHECK(amount_cents > 0 AND fee_cents >= 0)
);
--> statement-breakpoint
CREATE INDEX `payouts_driver_idx` ON `payouts` (`driver_id`,`id`);--> statement-breakpoint
CREATE INDEX `payouts_status_idx` ON `payouts` (`status`);--> statement-breakpoint
CREATE TABLE `settlement_config` (
	`id` integer PRIMARY KEY NOT NULL,
	`delay_business_days` integer NOT NULL,
	`holidays` text NOT NULL,
	`min_payout_cents` integer NOT NULL,
	`payout_fee_cents` integer NOT NULL,
	`credit_floor_cents` integer NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "settlement_config_singleton" CHECK(id = 1),
	CONSTRAINT "settlement_config_values_check" CHECK(delay_business_days >= 0 AND min_payout_cents > 0 AND payout_fee_cents >= 0 AND credit_floor_cents <= 0)
);
--> statement-breakpoint
CREATE TABLE `settlements` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`source_transaction_id` text NOT NULL,
	`ride_id` text,
	`amount_cents` integer NOT NULL,
	`due_on` text NOT NULL,
	`status` text NOT NULL,
	`release_transaction_id` text,
	`created_at` text NOT NULL,
	`released_at` text,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "settlements_amount_check" CHECK(amount_cents > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `settlements_source_unique` ON `settlements` (`source_transaction_id`);--> statement-breakpoint
CREATE INDEX `settlements_due_idx` ON `settlements` (`status`,`due_on`);--> statement-breakpoint
CREATE INDEX `settlements_driver_idx` ON `settlements` (`driver_id`,`id`);