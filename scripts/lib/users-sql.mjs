// SQL for the users table, shared by `npm run db:seed` and `npm run admin:create`. Values are
// inlined as SQL literals because they go through `wrangler d1 execute`, which takes no bind
// parameters, so every string is escaped with sqlString().

import { ulid } from "ulidx";
import { z } from "zod";
import { hashPassword, verifyPassword } from "../../src/lib/password.ts";

export const STAFF_ROLES = ["admin", "finance", "support", "ops"];
export const PASSWORD_RULE = "at least 10 characters, with a letter and a digit";

const EmailSchema = z.email().max(254);

/** The form the app stores and looks up: trimmed and lower-cased. */
export function normalizeEmail(email) {
  return email.trim().toLowerCase();
}

/** Same check as the login and register routes (zod's email), so the account can sign in. */
export function isValidEmail(email) {
  return EmailSchema.safeParse(email).success;
}

/** Same policy as assertStrongPassword in src/services/auth.ts; 128 is the login route's maximum. */
export function isStrongPassword(password) {
  return password.length >= 10 && password.length <= 128 && /[A-Za-z]/.test(password) && /\d/.test(password);
}

/** A SQL string literal: single quotes doubled; null/undefined become NULL. */
export function sqlString(value) {
  if (value === null || value === undefined) return "NULL";
  const text = String(value);
  if (text.includes("\0")) throw new Error("NUL characters cannot be stored");
  return `'${text.replaceAll("'", "''")}'`;
}

/** Builds a users row the way the app does: `usr_` + ULID, PBKDF2 hash, ISO UTC timestamps. */
export async function newUserRow({ role, name, email, phone = "", password, now = new Date() }) {
  const at = now.toISOString();
  return {
    id: `usr_${ulid(now.getTime())}`,
    role,
    status: "active",
    name,
    email: normalizeEmail(email),
    phone,
    password_hash: await hashPassword(password),
    created_at: at,
    updated_at: at,
  };
}

const COLUMNS = [
  "id",
  "role",
  "status",
  "name",
  "email",
  "phone",
  "password_hash",
  "created_at",
  "updated_at",
];

function values(row) {
  return `(${COLUMNS.map((c) => sqlString(row[c])).join(", ")})`;
}

/** Inserts rows whose email is not taken yet; existing accounts are left exactly as they are. */
export function insertIfAbsentSql(rows) {
  return (
    `INSERT INTO users (${COLUMNS.join(", ")}) VALUES\n  ${rows.map(values).join(",\n  ")}\n` +
    "ON CONFLICT(email) DO NOTHING;"
  );
}

/** True when `password` is the one `passwordHash` was made from. */
export function isSamePassword(password, passwordHash) {
  return verifyPassword(password, passwordHash);
}

/**
 * The one row `{ id, role, status, password_hash, live_sessions }` of the email's account, if any;
 * `live_sessions` counts its refresh tokens not yet revoked.
 */
export function selectAccountSql(email) {
  return (
    "SELECT id, role, status, password_hash, (SELECT count(*) FROM refresh_tokens rt " +
    "WHERE rt.user_id = users.id AND rt.revoked_at IS NULL) AS live_sessions " +
    `FROM users WHERE email = ${sqlString(normalizeEmail(email))};`
  );
}

/**
 * What `admin:create` does with the account already holding the email (`existing`, a row of
 * selectAccountSql, or undefined):
 * - none: `{ action: "create" }`;
 * - a passenger or driver: `{ action: "refuse" }`, because whoever registered that account (anyone
 *   can register any email) would then hold a staff session; with `takeOver` it is updated instead
 *   and every session of the account is revoked first;
 * - staff: `{ action: "update" }`, revoking its sessions when the password changes.
 * A blocked account stays blocked unless `unblock` is set.
 */
export function planStaffAccount(
  existing,
  { takeOver = false, unblock = false, passwordChanged = true } = {},
) {
  if (!existing) return { action: "create" };
  const isStaff = STAFF_ROLES.includes(existing.role);
  if (!isStaff && !takeOver) return { action: "refuse", existing };
  return {
    action: "update",
    existing,
    takeOver: !isStaff,
    revokeSessions: !isStaff || passwordChanged,
    unblock: existing.status === "blocked" && unblock,
    staysBlocked: existing.status === "blocked" && !unblock,
  };
}

/**
 * The statements that carry out a plan of planStaffAccount with the new account's `row` (from
 * newUserRow; for an update only its role, name, password hash and time are used). Each is guarded
 * by what the plan was made from, so an account that changes meanwhile is left alone: a create
 * does nothing if the email was taken since, an update nothing if the role changed since. Sessions
 * are revoked before the role changes. Id and created_at never change; the name only with
 * `updateName`.
 */
export function staffAccountSql(plan, row, { updateName = false } = {}) {
  if (plan.action === "create") {
    return [
      `INSERT INTO users (${COLUMNS.join(", ")}) VALUES ${values(row)}\nON CONFLICT(email) DO NOTHING;`,
    ];
  }
  if (plan.action !== "update") throw new Error(`nothing to write for a plan to ${plan.action}`);
  const { id, role } = plan.existing;
  const statements = [];
  if (plan.revokeSessions) {
    statements.push(
      `UPDATE refresh_tokens SET revoked_at = ${sqlString(row.updated_at)} ` +
        `WHERE user_id = ${sqlString(id)} AND revoked_at IS NULL;`,
    );
  }
  const set = [
    `role = ${sqlString(row.role)}`,
    `password_hash = ${sqlString(row.password_hash)}`,
    `updated_at = ${sqlString(row.updated_at)}`,
  ];
  if (updateName) set.push(`name = ${sqlString(row.name)}`);
  if (plan.unblock) set.push("status = 'active'");
  statements.push(
    `UPDATE users SET ${set.join(", ")} WHERE id = ${sqlString(id)} AND role = ${sqlString(role)};`,
  );
  return statements;
}

/** Rows `{ email, id, role, status }` for the given emails. */
export function selectByEmailsSql(emails) {
  return `SELECT email, id, role, status FROM users WHERE email IN (${emails.map(sqlString).join(", ")});`;
}

/** Prints rows as a small aligned table. */
export function printTable(rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length)));
  const line = (cells) => `  ${cells.map((cell, i) => String(cell ?? "").padEnd(widths[i])).join("  ")}`;
  console.log(line(columns));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => row[c])));
}
