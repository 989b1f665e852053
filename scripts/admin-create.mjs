// `npm run admin:create -- --email E --password P [--role admin|finance|support|ops] [--name N]
// [--phone +55...] [--take-over] [--unblock] [--remote]`: creates a staff account, or updates the
// role and password of an existing staff account. It refuses to turn a passenger or driver account
// into staff (anyone can register any email, so that would hand staff rights to whoever did)
// unless --take-over is given, and then revokes every session of that account first. A blocked
// account stays blocked unless --unblock is given. Local D1 by default; --remote targets the D1
// of the account wrangler is logged into.

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
  isSamePassword,
  planStaffAccount,
  selectAccountSql,
  selectByEmailsSql,
  staffAccountSql,
} = await import("./lib/users-sql.mjs");

const USAGE = `Usage: npm run admin:create -- --email EMAIL --password PASSWORD [options]

Creates a staff account, or updates the role and password of an existing staff account (a new
password ends that account's sessions). An existing passenger or driver account is refused: it
becomes staff only with --take-over, which first ends every session of that account. A blocked
account stays blocked unless --unblock is given.

Options:
  --email EMAIL        sign-in email (stored trimmed and lower-cased)
  --password PASSWORD  ${PASSWORD_RULE}
  --role ROLE          one of ${STAFF_ROLES.join(", ")} (default: admin)
  --name NAME          display name (default: the part of the email before @)
  --phone PHONE        E.164 with country code 55, e.g. +5511987654321 (default: empty)
  --take-over          make an existing passenger or driver account staff, revoking all of its
                       sessions first
  --unblock            make a blocked account active again
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
      "take-over": { type: "boolean", default: false },
      unblock: { type: "boolean", default: false },
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
  const [[existing] = []] = await d1Execute(selectAccountSql(email), { remote: opts.remote });
  const passwordChanged = existing ? !(await isSamePassword(opts.password, existing.password_hash)) : true;
  const plan = planStaffAccount(existing, {
    takeOver: opts["take-over"],
    unblock: opts.unblock,
    passwordChanged,
  });
  if (plan.action === "refuse") {
    console.error(
      `admin:create: ${email} is an existing ${existing.role} account (${existing.id}) in the ${target} D1; ` +
        "it was not changed.\nWhoever registered it would hold a staff account if it became one. Use " +
        "another email, or, if this account is surely the staff member's own, run again with --take-over " +
        "(it revokes every session of the account first).",
    );
    process.exit(1);
  }

  const row = await newUserRow({
    role: opts.role,
    name,
    email,
    phone: opts.phone ?? "",
    password: opts.password,
  });
  const results = await d1Execute(
    [...staffAccountSql(plan, row, { updateName: opts.name !== undefined }), selectByEmailsSql([email])].join(
      "\n",
    ),
    { remote: opts.remote },
  );
  const [stored] = results.at(-1) ?? [];
  const written = plan.action === "create" ? stored?.id === row.id : stored?.role === opts.role;
  if (!written) {
    throw new Error(
      "the account changed while this ran (registered, or its role changed); its role was not changed. " +
        "Run again to see its current state.",
    );
  }
  if (plan.action === "create") {
    console.log(`Created ${stored.role} account ${email} (${stored.id}) in the ${target} D1.`);
  } else {
    if (plan.revokeSessions) {
      const why = plan.takeOver ? `a ${existing.role} account taken over as staff` : "new password";
      console.log(
        `Revoked every session of ${email} (${existing.live_sessions} live refresh tokens; ${why}).`,
      );
    }
    console.log(
      `Updated the existing account ${email} (${stored.id}) in the ${target} D1: ` +
        `role ${existing.role} -> ${stored.role}, status ${existing.status} -> ${stored.status}` +
        `${passwordChanged ? ", new password" : ", same password"}.`,
    );
    if (plan.staysBlocked)
      console.log("The account is blocked and stays blocked; pass --unblock to unblock it.");
  }
} catch (error) {
  console.error(`admin:create failed: ${error.message}`);
  if (error.stdout) console.error(error.stdout.trim());
  if (error.stderr) console.error(error.stderr.trim());
  process.exit(1);
}
