CREATE TABLE `consents` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`document` text NOT NULL,
	`version` text NOT NULL,
	`accepted_at` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `consents_user_idx` ON `consents` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`token` text NOT NULL,
	`user_id` text NOT NULL,
	`platform` text NOT NULL,
	`created_at` text NOT NULL,
	`last_seen_at` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `devices_token_idx` ON `devices` (`token`);--> statement-breakpoint
CREATE INDEX `devices_user_idx` ON `devices` (`user_id`);--> statement-breakpoint
CREATE TABLE `driver_cancellations` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`ride_id` text NOT NULL,
	`reason` text NOT NULL,
	`at` text NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`ride_id`) REFERENCES `rides`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `driver_cancellations_driver_idx` ON `driver_cancellations` (`driver_id`,`at`);--> statement-breakpoint
CREATE UNIQUE INDEX `driver_cancellations_ride_seq_unique` ON `driver_cancellations` (`ride_id`,`driver_id`,`at`);--> statement-breakpoint
CREATE TABLE `driver_documents` (
	`id` text PRIMARY KEY NOT NULL,
	`driver_id` text NOT NULL,
	`kind` text NOT NULL,
	`object_key` text NOT NULL,
	`content_type` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`number` text,
	`expires_on` text,
	`cnh_ear` integer,
	`cnh_category` text,
	`review_status` text DEFAULT 'pending' NOT NULL,
	`reviewed_by` text,
	`reviewed_at` text,
	`expiry_notice_days` integer,
	`created_at` text NOT NULL,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `driver_documents_object_unique` ON `driver_documents` (`object_key`);--> statement-breakpoint
CREATE INDEX `driver_documents_driver_idx` ON `driver_documents` (`driver_id`,`kind`,`id`);--> statement-breakpoint
CREATE INDEX `driver_documents_expires_idx` ON `driver_documents` (`review_status`,`expires_on`);--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`kind` text NOT NULL,
	`title` text NOT NULL,
	`body` text NOT NULL,
	`data` text NOT NULL,
	`dedup_key` text NOT NULL,
	`created_at` text NOT NULL,
	`read_at` text,
	`push_claimed_at` text,
	`pushed_at` text,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `notifications_dedup_key_idx` ON `notifications` (`dedup_key`);--> statement-breakpoint
CREATE INDEX `notifications_user_idx` ON `notifications` (`user_id`,`id`);--> statement-breakpoint
CREATE TABLE `ride_offers` (
	`ride_id` text NOT NULL,
	`driver_id` text NOT NULL,
	`batch` integer NOT NULL,
	`radius_m` integer NOT NULL,
	`distance_m` integer,
	`status` text NOT NULL,
	`offered_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`responded_at` text,
	PRIMARY KEY(`ride_id`, `driver_id`),
	FOREIGN KEY (`ride_id`) REFERENCES `rides`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ride_offers_status_check" CHECK(status IN ('open', 'declined', 'expired', 'accepted', 'withdrawn'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ride_offers_one_open_per_driver` ON `ride_offers` (`driver_id`) WHERE status = 'open';--> statement-breakpoint
ALTER TABLE `drivers` ADD `online_since` text;--> statement-breakpoint
ALTER TABLE `drivers` ADD `cooldown_until` text;--> statement-breakpoint
ALTER TABLE `drivers` ADD `onboarding_status` text DEFAULT 'pending_documents' NOT NULL;--> statement-breakpoint
ALTER TABLE `drivers` ADD `onboarding_reason` text;--> statement-breakpoint
ALTER TABLE `drivers` ADD `suspended_by` text;--> statement-breakpoint
ALTER TABLE `drivers` ADD `onboarding_changed_at` text;--> statement-breakpoint
ALTER TABLE `drivers` ADD `documents_expire_on` text;--> statement-breakpoint
CREATE INDEX `drivers_onboarding_idx` ON `drivers` (`onboarding_status`,`user_id`);--> statement-breakpoint
CREATE INDEX `drivers_documents_expire_idx` ON `drivers` (`documents_expire_on`);--> statement-breakpoint
ALTER TABLE `rides` ADD `driver_reported_distance_m` integer;--> statement-breakpoint
ALTER TABLE `rides` ADD `driver_reported_duration_s` integer;--> statement-breakpoint
ALTER TABLE `rides` ADD `fare_review` text;--> statement-breakpoint
ALTER TABLE `rides` ADD `ended_early_at` text;--> statement-breakpoint
ALTER TABLE `rides` ADD `expired_reason` text;--> statement-breakpoint
ALTER TABLE `users` ADD `erased_at` text;