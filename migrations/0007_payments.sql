CREATE TABLE `payment_methods` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`payment_token` text NOT NULL,
	`brand` text NOT NULL,
	`last4` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `payment_methods_user_idx` ON `payment_methods` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `payments` (
	`id` text PRIMARY KEY NOT NULL,
	`purpose` text NOT NULL,
	`ride_id` text,
	`payer_id` text NOT NULL,
	`method` text NOT NULL,
	`status` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`refunded_cents` integer DEFAULT 0 NOT NULL,
	`attempt` integer DEFAULT 1 NOT NULL,
	`txid` text,
	`loc_id` integer,
	`copia_e_cola` text,
	`qr_code_png` text,
	`end_to_end_id` text,
	`card_charge_id` text,
	`failure_reason` text,
	`ledger_transaction_id` text,
	`expires_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`paid_at` text,
	FOREIGN KEY (`ride_id`) REFERENCES `rides`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`payer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "payments_amounts_check" CHECK(amount_cents > 0 AND refunded_cents >= 0 AND refunded_cents <= amount_cents)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `payments_ride_unique` ON `payments` (`ride_id`) WHERE purpose = 'ride';--> statement-breakpoint
CREATE UNIQUE INDEX `payments_txid_unique` ON `payments` (`txid`);--> statement-breakpoint
CREATE UNIQUE INDEX `payments_e2e_unique` ON `payments` (`end_to_end_id`);--> statement-breakpoint
CREATE INDEX `payments_status_expires_idx` ON `payments` (`status`,`expires_at`);--> statement-breakpoint
CREATE INDEX `payments_payer_idx` ON `payments` (`payer_id`,`id`);--> statement-breakpoint
CREATE TABLE `refunds` (
	`id` text PRIMARY KEY NOT NULL,
	`payment_id` text NOT NULL,
	`amount_cents` integer NOT NULL,
	`status` text NOT NULL,
	`provider_reference` text,
	`reason` text,
	`requested_by` text,
	`ledger_transaction_id` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`payment_id`) REFERENCES `payments`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`requested_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "refunds_amount_check" CHECK(amount_cents > 0)
);
--> statement-breakpoint
CREATE INDEX `refunds_payment_idx` ON `refunds` (`payment_id`);--> statement-breakpoint
CREATE TABLE `webhook_events` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`end_to_end_id` text NOT NULL,
	`sub_id` text DEFAULT '' NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`detail` text,
	`received_at` text NOT NULL,
	`processed_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_events_item_unique` ON `webhook_events` (`end_to_end_id`,`kind`,`sub_id`);--> statement-breakpoint
CREATE INDEX `webhook_events_status_idx` ON `webhook_events` (`status`);