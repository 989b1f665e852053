// SQL for the users table, shared by `npm run db:seed` and `npm run admin:create`. Values are
// inlined as SQL literals because they go through `wrangler d1 execute`, which takes no bind
// parameters, so every string is escaped with sqlString().

import { ulid } from "ulidx";
import { z } from "zod";
import { hashPassword } from "../../src/lib/password.ts";

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

/**
 * Creates the account, or, when the email exists, gives it the new role and password and makes it
 * active again. The name changes only when `updateName` is set. Id and created_at never change.
 */
export function upsertStaffSql(row, { updateName = false } = {}) {
  const set = [
    "role = excluded.role",
    "password_hash = excluded.password_hash",
    "status = 'active'",
    "updated_at = excluded.updated_at",
  ];
  if (updateName) set.push("name = excluded.name");
  return (
    `INSERT INTO users (${COLUMNS.join(", ")}) VALUES ${values(row)}\n` +
    `ON CONFLICT(email) DO UPDATE SET ${set.join(", ")};`
  );
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
