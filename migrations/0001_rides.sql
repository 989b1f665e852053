CREATE TABLE `cities` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`timezone` text NOT NULL,
	`min_lat` real NOT NULL,
	`max_lat` real NOT NULL,
	`min_lng` real NOT NULL,
	`max_lng` real NOT NULL,
	`payment_methods` text NOT NULL,
	`active` integer DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE `drivers` (
	`user_id` text PRIMARY KEY NOT NULL,
	`status` text DEFAULT 'offline' NOT NULL,
	`vehicle_plate` text,
	`vehicle_model` text,
	`vehicle_color` text,
	`vehicle_category` text,
	`last_lat` real,
	`last_lng` real,
	`last_cell` text,
	`last_seen_at` text,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `drivers_online_cell_idx` ON `drivers` (`status`,`last_cell`);--> statement-breakpoint
CREATE TABLE `pricing_rules` (
	`id` text PRIMARY KEY NOT NULL,
	`city_id` text NOT NULL,
	`category` text NOT NULL,
	`base_fare_cents` integer NOT NULL,
	`per_km_cents` integer NOT NULL,
	`per_minute_cents` integer NOT NULL,
	`minimum_fare_cents` integer NOT NULL,
	`booking_fee_cents` integer NOT NULL,
	`cancellation_fee_cents` integer NOT NULL,
	`surge_multiplier_bp` integer DEFAULT 10000 NOT NULL,
	`effective_from` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`city_id`) REFERENCES `cities`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "pricing_rules_amounts_check" CHECK(base_fare_cents >= 0 AND per_km_cents >= 0 AND per_minute_cents >= 0 AND minimum_fare_cents >= 0 AND booking_fee_cents >= 0 AND cancellation_fee_cents >= 0 AND surge_multiplier_bp >= 10000)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pricing_rules_version_unique` ON `pricing_rules` (`city_id`,`category`,`effective_from`);--> statement-breakpoint
CREATE TABLE `quotes` (
	`id` text PRIMARY KEY NOT NULL,
	`passenger_id` text NOT NULL,
	`city_id` text NOT NULL,
	`category` text NOT NULL,
	`pricing_rule_id` text NOT NULL,
	`pickup_lat` real NOT NULL,
	`pickup_lng` real NOT NULL,
	`dropoff_lat` real NOT NULL,
	`dropoff_lng` real NOT NULL,
	`distance_m` integer NOT NULL,
	`duration_s` integer NOT NULL,
	`estimated_fare_cents` integer NOT NULL,
	`surge_multiplier_bp` integer NOT NULL,
	`expires_at` text NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`passenger_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `ratings` (
	`ride_id` text NOT NULL,
	`rater_id` text NOT NULL,
	`ratee_id` text NOT NULL,
	`stars` integer NOT NULL,
	`comment` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`ride_id`, `rater_id`),
	FOREIGN KEY (`ride_id`) REFERENCES `rides`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`rater_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`ratee_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "ratings_stars_check" CHECK(stars BETWEEN 1 AND 5)
);
--> statement-breakpoint
CREATE TABLE `ride_events` (
	`ride_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`actor_id` text,
	`data` text NOT NULL,
	`at` text NOT NULL,
	PRIMARY KEY(`ride_id`, `seq`),
	FOREIGN KEY (`ride_id`) REFERENCES `rides`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `rides` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`passenger_id` text NOT NULL,
	`driver_id` text,
	`city_id` text NOT NULL,
	`category` text NOT NULL,
	`payment_method` text NOT NULL,
	`pickup_lat` real NOT NULL,
	`pickup_lng` real NOT NULL,
	`pickup_cell` text NOT NULL,
	`dropoff_lat` real NOT NULL,
	`dropoff_lng` real NOT NULL,
	`quote_id` text,
	`pricing_rule_id` text NOT NULL,
	`estimated_fare_cents` integer NOT NULL,
	`estimated_distance_m` integer NOT NULL,
	`estimated_duration_s` integer NOT NULL,
	`final_fare_cents` integer,
	`distance_m` integer,
	`duration_s` integer,
	`cancellation_fee_cents` integer,
	`cancelled_by` text,
	`cancel_reason` text,
	`last_seq` integer DEFAULT 0 NOT NULL,
	`expires_at` text NOT NULL,
	`created_at` text NOT NULL,
	`accepted_at` text,
	`arrived_at` text,
	`started_at` text,
	`completed_at` text,
	`cancelled_at` text,
	`expired_at` text,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`passenger_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`driver_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "rides_status_check" CHECK(status IN ('requested', 'accepted', 'arrived', 'in_progress', 'completed', 'cancelled', 'expired')),
	CONSTRAINT "rides_driver_check" CHECK(status IN ('requested', 'expired') OR driver_id IS NOT NULL OR (status = 'cancelled' AND accepted_at IS NULL))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rides_one_active_per_driver` ON `rides` (`driver_id`) WHERE status IN ('accepted', 'arrived', 'in_progress');--> statement-breakpoint
CREATE UNIQUE INDEX `rides_one_active_per_passenger` ON `rides` (`passenger_id`) WHERE status IN ('requested', 'accepted', 'arrived', 'in_progress');--> statement-breakpoint
CREATE INDEX `rides_requested_cell_idx` ON `rides` (`status`,`pickup_cell`);--> statement-breakpoint
CREATE INDEX `rides_passenger_idx` ON `rides` (`passenger_id`,`id`);--> statement-breakpoint
CREATE INDEX `rides_driver_idx` ON `rides` (`driver_id`,`id`);