import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
