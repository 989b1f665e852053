// `npm run db:seed`: demo accounts in the LOCAL D1 (run `npm run db:migrate` first; `npm run dev`
// does both). Re-runnable: an email that already exists is left untouched, so a second run
// changes nothing.

import { assertNode22, d1Execute } from "./lib/wrangler.mjs";

assertNode22();
// Loaded after the Node check: it imports src/lib/password.ts, which needs Node 22's type stripping.
const { insertIfAbsentSql, newUserRow, printTable, selectByEmailsSql } = await import("./lib/users-sql.mjs");

const PASSWORD = "demo-password-1";

const DEMO_USERS = [
  { role: "admin", name: "Demo Admin", email: "admin@demo.local", phone: "+5511900000001" },
  { role: "passenger", name: "Demo Passenger", email: "passenger@demo.local", phone: "+5511900000002" },
  { role: "driver", name: "Demo Driver", email: "driver@demo.local", phone: "+5511900000003" },
  { role: "support", name: "Demo Support", email: "support@demo.local", phone: "+5511900000004" },
];

/**
 * The demo driver may go online at once: approved, with documents valid for years. Only a driver
 * still waiting for documents is touched, so a re-run leaves a suspension made by hand alone.
 * (No files are seeded: staff see the set as missing if they open it.)
 */
function approveDemoDriverSql() {
  const now = new Date().toISOString();
  return (
    "INSERT INTO drivers (user_id, updated_at, onboarding_status, documents_expire_on, onboarding_changed_at) " +
    `SELECT id, '${now}', 'approved', '2099-12-31', '${now}' FROM users WHERE email = 'driver@demo.local' ` +
    "ON CONFLICT (user_id) DO UPDATE SET onboarding_status = 'approved', documents_expire_on = '2099-12-31', " +
    "onboarding_changed_at = excluded.onboarding_changed_at WHERE drivers.onboarding_status = 'pending_documents';"
  );
}

try {
  const rows = await Promise.all(DEMO_USERS.map((u) => newUserRow({ ...u, password: PASSWORD })));
  const emails = rows.map((r) => r.email);
  const [before = [], , after = []] = await d1Execute(
    [
      selectByEmailsSql(emails),
      insertIfAbsentSql(rows),
      selectByEmailsSql(emails),
      approveDemoDriverSql(),
    ].join("\n"),
  );
  const existed = new Set(before.map((r) => r.email));
  const stored = new Map(after.map((r) => [r.email, r]));

  console.log("\nDemo accounts (local D1):");
  printTable(
    DEMO_USERS.map((u) => ({
      role: stored.get(u.email)?.role ?? u.role,
      email: u.email,
      password: existed.has(u.email) ? `${PASSWORD} (if not changed since)` : PASSWORD,
      id: stored.get(u.email)?.id ?? "?",
      seed: existed.has(u.email) ? "already there, left as is" : "created",
    })),
    ["role", "email", "password", "id", "seed"],
  );
  console.log("");
} catch (error) {
  console.error(`db:seed failed: ${error.message}`);
  if (error.stdout) console.error(error.stdout.trim());
  if (error.stderr) console.error(error.stderr.trim());
  if (`${error.stdout ?? ""}${error.stderr ?? ""}`.includes("no such table")) {
    console.error("The local database has no tables yet: run `npm run db:migrate` first.");
  }
  process.exit(1);
}
