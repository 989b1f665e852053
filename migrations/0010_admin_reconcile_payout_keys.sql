CREATE TABLE `efi_daily_totals` (
	`day` text PRIMARY KEY NOT NULL,
	`received_cents` integer NOT NULL,
	`received_count` integer NOT NULL,
	`refunded_cents` integer NOT NULL,
	`sent_cents` integer DEFAULT 0 NOT NULL,
	`sent_count` integer DEFAULT 0 NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `flagged_pix_refunds` (
	`id` text PRIMARY KEY NOT NULL,
	`end_to_end_id` text NOT NULL,
	`webhook_event_id` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`status` text NOT NULL,
	`provider_reference` text,
	`reason` text,
	`requested_by` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`webhook_event_id`) REFERENCES `webhook_events`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`requested_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "flagged_pix_refunds_amount_check" CHECK(amount_cents > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `flagged_pix_refunds_e2e_unique` ON `flagged_pix_refunds` (`end_to_end_id`);--> statement-breakpoint
CREATE TABLE `payout_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`pix_key` text NOT NULL,
	`pix_key_type` text NOT NULL,
	`holder_name` text,
	`usable_from` text NOT NULL,
	`created_at` text NOT NULL,
	`removed_at` text,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `payout_keys_driver_idx` ON `payout_keys` (`driver_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `payout_keys_live_unique` ON `payout_keys` (`driver_id`,`pix_key`) WHERE removed_at IS NULL;--> statement-breakpoint
CREATE TABLE `surges` (
	`id` text PRIMARY KEY NOT NULL,
	`city_id` text NOT NULL,
	`category` text NOT NULL,
	`zone` text,
	`multiplier_bp` integer NOT NULL,
	`expires_at` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`city_id`) REFERENCES `cities`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "surges_multiplier_check" CHECK(multiplier_bp >= 10000)
);
--> statement-breakpoint
CREATE INDEX `surges_lookup_idx` ON `surges` (`city_id`,`category`,`expires_at`);--> statement-breakpoint
ALTER TABLE `audit_logs` ADD `reason` text;--> statement-breakpoint
CREATE INDEX `audit_logs_actor_idx` ON `audit_logs` (`actor_id`,`id`);--> statement-breakpoint
ALTER TABLE `cities` ADD `service_area` text;--> statement-breakpoint
ALTER TABLE `cities` ADD `currency` text DEFAULT 'BRL' NOT NULL;--> statement-breakpoint
ALTER TABLE `cities` ADD `categories` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `cities` ADD `updated_at` text;--> statement-breakpoint
ALTER TABLE `commission_rules` ADD `retired_at` text;--> statement-breakpoint
ALTER TABLE `ledger_accounts` ADD `last_entry_id` integer;--> statement-breakpoint
ALTER TABLE `pricing_rules` ADD `surge_min_bp` integer DEFAULT 10000 NOT NULL;--> statement-breakpoint
ALTER TABLE `pricing_rules` ADD `surge_max_bp` integer DEFAULT 30000 NOT NULL;--> statement-breakpoint
ALTER TABLE `pricing_rules` ADD `cancellation_grace_seconds` integer;--> statement-breakpoint
ALTER TABLE `pricing_rules` ADD `retired_at` text;--> statement-breakpoint
ALTER TABLE `settlement_config` ADD `payout_key_cooldown_seconds` integer DEFAULT 86400 NOT NULL;--> statement-breakpoint
ALTER TABLE `settlement_config` ADD `payout_daily_limit_cents` integer DEFAULT 500000 NOT NULL;--> statement-breakpoint
ALTER TABLE `settlement_config` ADD `approval_threshold_cents` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `refunds_provider_reference_unique` ON `refunds` (`provider_reference`);