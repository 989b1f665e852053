import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

// Times are ISO 8601 UTC strings (sortable as text); money, when it arrives, is integer centavos.

export const USER_ROLES = ["passenger", "driver", "admin", "finance", "support", "ops"] as const;
export type UserRole = (typeof USER_ROLES)[number];
export const USER_STATUSES = ["active", "blocked"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    role: text("role", { enum: USER_ROLES }).notNull(),
    status: text("status", { enum: USER_STATUSES }).notNull().default("active"),
    name: text("name").notNull(),
    /** Normalised: trimmed and lower-cased. */
    email: text("email").notNull(),
    phone: text("phone").notNull(),
    passwordHash: text("password_hash").notNull(),
    /** AES-GCM ciphertext of the 11 CPF digits. */
    cpfCiphertext: text("cpf_ciphertext"),
    /** HMAC-SHA256 of the 11 CPF digits under a separate key: uniqueness and lookup. */
    cpfHash: text("cpf_hash"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("users_email_unique").on(t.email),
    uniqueIndex("users_cpf_hash_unique").on(t.cpfHash),
    check("users_role_check", sql.raw(`role IN (${USER_ROLES.map((r) => `'${r}'`).join(", ")})`)),
    check("users_status_check", sql.raw(`status IN (${USER_STATUSES.map((s) => `'${s}'`).join(", ")})`)),
  ],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    /** All tokens descending from one login share a family; reuse of any revokes all. */
    familyId: text("family_id").notNull(),
    /** SHA-256 of the opaque token; the token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    revokedAt: text("revoked_at"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_hash_unique").on(t.tokenHash),
    index("refresh_tokens_family_idx").on(t.familyId),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    /** Keys are scoped to the caller, so two users can pick the same key. */
    userId: text("user_id").notNull(),
    key: text("key").notNull(),
    /** Method, path and SHA-256 of the body: the same key with another request is refused. */
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["in_progress", "completed"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] }), index("idempotency_expires_idx").on(t.expiresAt)],
);

export const auditLogs = sqliteTable(
  "audit_logs",
  {
    id: text("id").primaryKey(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type").notNull(),
    targetId: text("target_id").notNull(),
    /** JSON snapshots; never personal data such as CPF or tokens. */
    before: text("before"),
    after: text("after"),
    requestId: text("request_id"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("audit_logs_created_idx").on(t.createdAt),
    index("audit_logs_target_idx").on(t.targetType, t.targetId),
  ],
);

/** Fixed-window counters for rate limits that must also work locally (login attempts). */
export const rateLimits = sqliteTable("rate_limits", {
  key: text("key").primaryKey(),
  windowStart: integer("window_start").notNull(),
  count: integer("count").notNull().default(sql`0`),
});

// ---------------------------------------------------------------------------------------------
// Cities, pricing, quotes

export const PAYMENT_METHODS = ["pix", "card", "cash"] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** A service area: a bounding box, and what is offered inside it. Seeded by migration. */
export const cities = sqliteTable("cities", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  timezone: text("timezone").notNull(),
  minLat: real("min_lat").notNull(),
  maxLat: real("max_lat").notNull(),
  minLng: real("min_lng").notNull(),
  maxLng: real("max_lng").notNull(),
  /** JSON array of PaymentMethod. */
  paymentMethods: text("payment_methods").notNull(),
  active: integer("active", { mode: "boolean" }).notNull().default(true),
});

/**
 * Fare rules per city and category, versioned: the rule in force at a moment is the one with
 * the latest `effective_from` not after it. Rows are never edited; a change is a new version.
 */
export const pricingRules = sqliteTable(
  "pricing_rules",
  {
    id: text("id").primaryKey(),
    cityId: text("city_id")
      .notNull()
      .references(() => cities.id),
    category: text("category").notNull(),
    baseFareCents: integer("base_fare_cents").notNull(),
    perKmCents: integer("per_km_cents").notNull(),
    perMinuteCents: integer("per_minute_cents").notNull(),
    minimumFareCents: integer("minimum_fare_cents").notNull(),
    bookingFeeCents: integer("booking_fee_cents").notNull(),
    cancellationFeeCents: integer("cancellation_fee_cents").notNull(),
    /** 10000 = 1.0x. */
    surgeMultiplierBp: integer("surge_multiplier_bp").notNull().default(10000),
    effectiveFrom: text("effective_from").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("pricing_rules_version_unique").on(t.cityId, t.category, t.effectiveFrom),
    check(
      "pricing_rules_amounts_check",
      sql`base_fare_cents >= 0 AND per_km_cents >= 0 AND per_minute_cents >= 0 AND minimum_fare_cents >= 0 AND booking_fee_cents >= 0 AND cancellation_fee_cents >= 0 AND surge_multiplier_bp >= 10000`,
    ),
  ],
);

export const quotes = sqliteTable("quotes", {
  id: text("id").primaryKey(),
  passengerId: text("passenger_id")
    .notNull()
    .references(() => users.id),
  cityId: text("city_id").notNull(),
  category: text("category").notNull(),
  pricingRuleId: text("pricing_rule_id").notNull(),
  pickupLat: real("pickup_lat").notNull(),
  pickupLng: real("pickup_lng").notNull(),
  dropoffLat: real("dropoff_lat").notNull(),
  dropoffLng: real("dropoff_lng").notNull(),
  distanceM: integer("distance_m").notNull(),
  durationS: integer("duration_s").notNull(),
  estimatedFareCents: integer("estimated_fare_cents").notNull(),
  surgeMultiplierBp: integer("surge_multiplier_bp").notNull(),
  expiresAt: text("expires_at").notNull(),
  createdAt: text("created_at").notNull(),
});

// ---------------------------------------------------------------------------------------------
// Drivers and rides

export const DRIVER_STATUSES = ["offline", "online"] as const;

export const drivers = sqliteTable(
  "drivers",
  {
    userId: text("user_id")
      .primaryKey()
      .references(() => users.id),
    status: text("status", { enum: DRIVER_STATUSES }).notNull().default("offline"),
    vehiclePlate: text("vehicle_plate"),
    vehicleModel: text("vehicle_model"),
    vehicleColor: text("vehicle_color"),
    vehicleCategory: text("vehicle_category"),
    lastLat: real("last_lat"),
    lastLng: real("last_lng"),
    /** Geohash of the last position at GEOHASH_CELL_PRECISION: the "drivers near here" index. */
    lastCell: text("last_cell"),
    lastSeenAt: text("last_seen_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [index("drivers_online_cell_idx").on(t.status, t.lastCell)],
);

export const RIDE_STATUSES = [
  "requested",
  "accepted",
  "arrived",
  "in_progress",
  "completed",
  "cancelled",
  "expired",
] as const;
export type RideStatus = (typeof RIDE_STATUSES)[number];

/** Statuses in which a ride occupies its driver (and its passenger). */
export const DRIVER_ACTIVE_STATUSES = ["accepted", "arrived", "in_progress"] as const;
export const PASSENGER_ACTIVE_STATUSES = ["requested", ...DRIVER_ACTIVE_STATUSES] as const;

const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(", "));

export const rides = sqliteTable(
  "rides",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: RIDE_STATUSES }).notNull(),
    passengerId: text("passenger_id")
      .notNull()
      .references(() => users.id),
    driverId: text("driver_id").references(() => users.id),
    cityId: text("city_id").notNull(),
    category: text("category").notNull(),
    paymentMethod: text("payment_method", { enum: PAYMENT_METHODS }).notNull(),
    pickupLat: real("pickup_lat").notNull(),
    pickupLng: real("pickup_lng").notNull(),
    /** Geohash of the pickup at GEOHASH_CELL_PRECISION: the "rides near here" index. */
    pickupCell: text("pickup_cell").notNull(),
    dropoffLat: real("dropoff_lat").notNull(),
    dropoffLng: real("dropoff_lng").notNull(),
    quoteId: text("quote_id"),
    pricingRuleId: text("pricing_rule_id").notNull(),
    estimatedFareCents: integer("estimated_fare_cents").notNull(),
    estimatedDistanceM: integer("estimated_distance_m").notNull(),
    estimatedDurationS: integer("estimated_duration_s").notNull(),
    finalFareCents: integer("final_fare_cents"),
    distanceM: integer("distance_m"),
    durationS: integer("duration_s"),
    cancellationFeeCents: integer("cancellation_fee_cents"),
    cancelledBy: text("cancelled_by", { enum: ["passenger", "driver", "system"] }),
    cancelReason: text("cancel_reason"),
    /** Sequence number of the last event appended to ride_events. */
    lastSeq: integer("last_seq").notNull().default(0),
    expiresAt: text("expires_at").notNull(),
    createdAt: text("created_at").notNull(),
    acceptedAt: text("accepted_at"),
    arrivedAt: text("arrived_at"),
    startedAt: text("started_at"),
    completedAt: text("completed_at"),
    cancelledAt: text("cancelled_at"),
    expiredAt: text("expired_at"),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    // The database, not only the RideRoom, guarantees one active ride per driver and passenger.
    uniqueIndex("rides_one_active_per_driver")
      .on(t.driverId)
      .where(sql`status IN (${inList(DRIVER_ACTIVE_STATUSES)})`),
    uniqueIndex("rides_one_active_per_passenger")
      .on(t.passengerId)
      .where(sql`status IN (${inList(PASSENGER_ACTIVE_STATUSES)})`),
    index("rides_requested_cell_idx").on(t.status, t.pickupCell),
    index("rides_passenger_idx").on(t.passengerId, t.id),
    index("rides_driver_idx").on(t.driverId, t.id),
    check("rides_status_check", sql`status IN (${inList(RIDE_STATUSES)})`),
    check(
      "rides_driver_check",
      sql`status IN ('requested', 'expired') OR driver_id IS NOT NULL OR (status = 'cancelled' AND accepted_at IS NULL)`,
    ),
  ],
);

/** Append-only history of each ride; `seq` is per ride and matches the realtime events. */
export const rideEvents = sqliteTable(
  "ride_events",
  {
    rideId: text("ride_id")
      .notNull()
      .references(() => rides.id),
    seq: integer("seq").notNull(),
    type: text("type").notNull(),
    actorId: text("actor_id"),
    data: text("data").notNull(),
    at: text("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.rideId, t.seq] })],
);

export const ratings = sqliteTable(
  "ratings",
  {
    rideId: text("ride_id")
      .notNull()
      .references(() => rides.id),
    raterId: text("rater_id")
      .notNull()
      .references(() => users.id),
    rateeId: text("ratee_id")
      .notNull()
      .references(() => users.id),
    stars: integer("stars").notNull(),
    comment: text("comment"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.rideId, t.raterId] }),
    check("ratings_stars_check", sql`stars BETWEEN 1 AND 5`),
  ],
);
