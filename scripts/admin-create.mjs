// `npm run admin:create -- --email E --password P [--role admin|finance|support|ops] [--name N]
// [--phone +55...] [--remote]`: creates a staff account, or, when the email exists, gives it the
// role and password and makes it active again. Local D1 by default; --remote targets the D1 of
// the account wrangler is logged into.

import { parseArgs } from "node:util";
import { assertNode22, d1Execute } from "./lib/wrangler.mjs";

assertNode22();
// Loaded after the Node check: it imports src/lib/password.ts, which needs Node 22's type stripping.
const {
  isStrongPassword,
  isValidEmail,
  newUserRow,
  normalizeEmail,
  PASSWORD_RULE,
  STAFF_ROLES,
  selectByEmailsSql,
  upsertStaffSql,
} = await import("./lib/users-sql.mjs");

const USAGE = `Usage: npm run admin:create -- --email EMAIL --password PASSWORD [options]

Creates a staff account, or updates the role and password of an existing one (and unblocks it).

Options:
  --email EMAIL        sign-in email (stored trimmed and lower-cased)
  --password PASSWORD  ${PASSWORD_RULE}
  --role ROLE          one of ${STAFF_ROLES.join(", ")} (default: admin)
  --name NAME          display name (default: the part of the email before @)
  --phone PHONE        E.164 with country code 55, e.g. +5511987654321 (default: empty)
  --remote             write to the remote D1 instead of the local one
  -h, --help           show this help`;

function fail(message) {
  console.error(`admin:create: ${message}\n\n${USAGE}`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      email: { type: "string" },
      password: { type: "string" },
      role: { type: "string", default: "admin" },
      name: { type: "string" },
      phone: { type: "string" },
      remote: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: false,
    strict: true,
  });
} catch (error) {
  fail(error.message);
}
const opts = parsed.values;

if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const problems = [];
const email = normalizeEmail(opts.email ?? "");
if (!opts.email) problems.push("--email is required");
else if (!isValidEmail(email)) problems.push(`--email "${opts.email}" is not a valid email address`);
if (!opts.password) problems.push("--password is required");
else if (!isStrongPassword(opts.password)) problems.push(`--password needs ${PASSWORD_RULE} (at most 128)`);
if (!STAFF_ROLES.includes(opts.role)) {
  problems.push(`--role must be one of ${STAFF_ROLES.join(", ")} (got "${opts.role}")`);
}
const name = opts.name?.trim() ?? email.split("@")[0];
if (opts.name !== undefined && (name.length < 1 || name.length > 100)) {
  problems.push("--name must be 1 to 100 characters");
}
if (opts.phone !== undefined && !/^\+55\d{10,11}$/.test(opts.phone)) {
  problems.push("--phone must be E.164 with country code 55, e.g. +5511987654321");
}
if (problems.length > 0) fail(problems.join("\n  "));

const target = opts.remote ? "remote" : "local";
try {
  const row = await newUserRow({
    role: opts.role,
    name,
    email,
    phone: opts.phone ?? "",
    password: opts.password,
  });
  const [before = [], , after = []] = await d1Execute(
    [
      selectByEmailsSql([email]),
      upsertStaffSql(row, { updateName: opts.name !== undefined }),
      selectByEmailsSql([email]),
    ].join("\n"),
    { remote: opts.remote },
  );
  const previous = before[0];
  const stored = after[0];
  if (!stored) throw new Error("the account is not there after the write");
  if (previous) {
    console.log(
      `Updated the existing account ${email} (${stored.id}) in the ${target} D1: ` +
        `role ${previous.role} -> ${stored.role}, status ${previous.status} -> ${stored.status}, new password.`,
    );
  } else {
    console.log(`Created ${stored.role} account ${email} (${stored.id}) in the ${target} D1.`);
  }
} catch (error) {
  console.error(`admin:create failed: ${error.message}`);
  if (error.stdout) console.error(error.stdout.trim());
  if (error.stderr) console.error(error.stderr.trim());
  process.exit(1);
}
