CREATE TABLE `driver_status_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`driver_id` text NOT NULL,
	`status` text NOT NULL,
	`city_id` text,
	`online_at` text,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `driver_status_log_driver_idx` ON `driver_status_log` (`driver_id`,`id`);--> statement-breakpoint
CREATE INDEX `driver_status_log_city_at_idx` ON `driver_status_log` (`city_id`,`status`,`at`);--> statement-breakpoint
DROP INDEX `flagged_pix_refunds_e2e_unique`;--> statement-breakpoint
CREATE UNIQUE INDEX `flagged_pix_refunds_e2e_live_unique` ON `flagged_pix_refunds` (`end_to_end_id`) WHERE status <> 'failed';--> statement-breakpoint
ALTER TABLE `cities` ADD `credit_floor_cents` integer;--> statement-breakpoint
ALTER TABLE `driver_documents` ADD `plate` text;--> statement-breakpoint
ALTER TABLE `rides` ADD `surge_multiplier_bp` integer;