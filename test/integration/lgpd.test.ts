import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { post } from "../../src/services/ledger/post";
import { CURRENT_VERSIONS } from "../../src/services/users/consents";
import { registerVehicle, upload, uploadFullSet } from "../document-helpers";
import { registerWebhook } from "../efi-webhook-helpers";
import {
  acceptedLongAgo,
  driveTo,
  POP_FEE_CENTS,
  payAtSandbox,
  ridePayment,
  waitForPaymentStatus,
  walletOf,
} from "../fee-helpers";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { expectLedgerConsistent, fund } from "../money-helpers";
import { onlineDriver, postRide, requestRide } from "../ride-helpers";

/** A valid CPF no other test uses: random base digits and their two check digits. */
function uniqueCpf(): string {
  const digits = Array.from({ length: 9 }, () => Math.floor(Math.random() * 10));
  for (const length of [9, 10]) {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += (digits[i] ?? 0) * (length + 1 - i);
    const rest = (sum * 10) % 11;
    digits.push(rest === 10 ? 0 : rest);
  }
  return digits.join("");
}

interface Person {
  user: TestUser;
  name: string;
  phone: string;
  cpf: string;
}

async function person(role: "passenger" | "driver", extra: Record<string, unknown> = {}): Promise<Person> {
  const name = `Ana Erasable ${unique()}`;
  const phone = `+55119${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`;
  const cpf = uniqueCpf();
  const user = await registerUser(role, { name, phone, cpf, ...extra });
  return { user, name, phone, cpf };
}

/** Every user table of D1 (from sqlite_master), as text, row by row. */
async function everyRow(): Promise<{ table: string; text: string }[]> {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT LIKE 'd1_%'",
  ).all<{ name: string }>();
  const out: { table: string; text: string }[] = [];
  for (const { name } of tables) {
    const { results } = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
    for (const row of results) out.push({ table: name, text: JSON.stringify(row).toLowerCase() });
  }
  return out;
}

async function findAnywhere(values: string[]) {
  const rows = await everyRow();
  return values.flatMap((value) =>
    rows
      .filter((r) => r.text.includes(value.toLowerCase()))
      .map((r) => `${value} in ${r.table}: ${r.text.slice(0, 200)}`),
  );
}

const erase = (user: TestUser, password = user.password) =>
  call("DELETE", "/v1/me", {
    token: user.accessToken,
    body: { password },
    headers: { "cf-connecting-ip": user.ip },
  });

async function userRow(id: string) {
  return env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(id).first<Record<string, any>>();
}

/** The ride row and every event a ride's room keeps, as one string. */
async function roomHistory(rideId: string): Promise<string> {
  const room = env.RIDE_ROOM.get(env.RIDE_ROOM.idFromName(rideId));
  return runInDurableObject(room, (_object, state) =>
    [
      ...state.storage.sql
        .exec<{ row: string }>("SELECT row FROM ride")
        .toArray()
        .map((r) => r.row),
      ...state.storage.sql
        .exec<{ data: string }>("SELECT data FROM events ORDER BY seq")
        .toArray()
        .map((e) => e.data),
    ].join("\n"),
  );
}

/** Every event the user's channel keeps for catching up, as one string. */
async function channelHistory(userId: string): Promise<string> {
  const channel = env.USER_CHANNEL.get(env.USER_CHANNEL.idFromName(userId));
  return runInDurableObject(channel, (_object, state) =>
    state.storage.sql
      .exec<{ data: string }>("SELECT data FROM events ORDER BY seq")
      .toArray()
      .map((e) => e.data)
      .join("\n"),
  );
}

describe("consent", () => {
  it("registration records the current terms and privacy versions, and POST /v1/me/consents a new acceptance", async () => {
    const { user } = await person("passenger");
    const { results } = await env.DB.prepare(
      "SELECT document, version FROM consents WHERE user_id = ? ORDER BY document",
    )
      .bind(user.id)
      .all();
    expect(results).toEqual([
      { document: "privacy", version: CURRENT_VERSIONS.privacy },
      { document: "terms", version: CURRENT_VERSIONS.terms },
    ]);
    const accepted = await call("POST", "/v1/me/consents", {
      token: user.accessToken,
      body: { document: "terms", version: CURRENT_VERSIONS.terms },
    });
    expect(accepted.status, accepted.text).toBe(201);
    expect(accepted.json).toMatchObject({ document: "terms", version: CURRENT_VERSIONS.terms });
    const count = async () =>
      (
        await env.DB.prepare("SELECT count(*) AS n FROM consents WHERE user_id = ?")
          .bind(user.id)
          .first<{ n: number }>()
      )?.n;
    expect(await count()).toBe(3);
    // A version that is not the current one is not something the user was shown: refused.
    expectProblem(
      await call("POST", "/v1/me/consents", {
        token: user.accessToken,
        body: { document: "privacy", version: "1999-01" },
      }),
      400,
      "validation_failed",
    );
    expect(await count()).toBe(3);
  });

  it("refuses a registration naming a version that is not current, creating nothing", async () => {
    const email = `old-${unique()}@example.com`;
    const reply = await call("POST", "/v1/auth/register", {
      body: {
        name: "Old App",
        email,
        phone: "+5511987654321",
        password: "s3cure-enough-pass",
        role: "passenger",
        terms_version: "2020-01",
      },
      headers: { "cf-connecting-ip": "10.9.9.9" },
    });
    expectProblem(reply, 400, "validation_failed");
    expect(await env.DB.prepare("SELECT id FROM users WHERE email = ?").bind(email).first()).toBeNull();
  });
});

describe("export", () => {
  it("holds the caller's data and nobody else's", async () => {
    const mine = await person("passenger");
    const theirs = await person("passenger");
    const ride = await requestRide(mine.user);
    expect(ride.status, ride.text).toBe(201);
    const other = await requestRide(theirs.user);
    expect(other.status, other.text).toBe(201);

    const reply = await call("GET", "/v1/me/export", { token: mine.user.accessToken });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.profile).toMatchObject({
      id: mine.user.id,
      name: mine.name,
      email: mine.user.email,
      cpf_on_file: true,
    });
    expect(reply.json.consents).toHaveLength(2);
    expect(reply.json.rides.map((r: { id: string }) => r.id)).toEqual([ride.json.id]);
    // Nothing of the other passenger, and no secret of the caller.
    for (const foreign of [theirs.user.id, theirs.user.email, theirs.name, other.json.id]) {
      expect(reply.text).not.toContain(foreign);
    }
    expect(reply.text).not.toContain(mine.cpf);
    expect(reply.text).not.toContain("password");
    expect(reply.text).not.toContain("token_hash");
  });

  it("gives a driver his going online and offline, which the reports' online hours come from", async () => {
    const driver = await onlineDriver();
    const offline = await call("POST", "/v1/drivers/me/offline", { token: driver.accessToken });
    expect(offline.status, offline.text).toBe(200);
    const reply = await call("GET", "/v1/me/export", { token: driver.accessToken });
    expect(reply.status, reply.text).toBe(200);
    const history = reply.json.status_history as {
      driver_id: string;
      status: string;
      online_at: string | null;
    }[];
    expect(history.map((row) => row.status)).toEqual(["online", "offline"]);
    expect(history.every((row) => row.driver_id === driver.id)).toBe(true);
    expect(history[1]?.online_at).toBeTruthy();
  });

  it("gives a driver his documents' metadata and wallet, and is limited to five a day", async () => {
    const { user } = await person("driver");
    await registerVehicle(user);
    await uploadFullSet(user);
    await fund(1234, user.id);
    const reply = await call("GET", "/v1/me/export", { token: user.accessToken });
    expect(reply.json.documents).toHaveLength(5);
    expect(reply.json.wallet.accounts).toEqual([
      expect.objectContaining({ kind: "available", balance_cents: 1234 }),
    ]);
    expect(reply.json.wallet.entries).toHaveLength(1);
    for (let i = 0; i < 4; i++)
      expect((await call("GET", "/v1/me/export", { token: user.accessToken })).status).toBe(200);
    expectProblem(await call("GET", "/v1/me/export", { token: user.accessToken }), 429, "rate_limited");
  });
});

describe("erasure", () => {
  it("anonymises a passenger: no personal field left anywhere in D1, rides kept, ledger still consistent", async () => {
    const p = await person("passenger");
    const driver = await onlineDriver();
    const ride = await requestRide(p.user, { payment_method: "cash" });
    expect(ride.status, ride.text).toBe(201);
    expect((await postRide(driver.accessToken, ride.json.id, "accept")).status).toBe(200);
    // An active ride blocks erasure, and a wrong password is refused: nothing changes.
    const before = await userRow(p.user.id);
    expectProblem(await erase(p.user), 409, "passenger_has_active_ride");
    expectProblem(await erase(p.user, "not-the-password-1"), 401, "invalid_credentials");
    expect(await userRow(p.user.id)).toEqual(before);
    const cancelled = await postRide(p.user.accessToken, ride.json.id, "cancel", {
      reason: `call me on ${p.phone}`,
    });
    expect(cancelled.status, cancelled.text).toBe(200);
    await fund(500, driver.id); // some money in the ledger that erasure must not disturb

    expect((await findAnywhere([p.name, p.user.email, p.phone])).length).toBeGreaterThan(0);
    expect(await channelHistory(p.user.id)).toContain(p.phone); // the cancel reason, as delivered
    const roomBefore = await roomHistory(ride.json.id);
    expect(roomBefore).toContain(p.phone);
    expect(roomBefore).toContain("-23.5503");
    const erased = await erase(p.user);
    expect(erased.status, erased.text).toBe(204);
    expect(await channelHistory(p.user.id)).toBe("");
    // The ride's room keeps the ride, with the places rounded as in D1 and no cancel reason.
    const roomAfter = await roomHistory(ride.json.id);
    expect(roomAfter).not.toContain(p.phone);
    expect(roomAfter).not.toContain("-23.5503");
    expect(roomAfter).toContain('"pickup":{"lat":-23.55,"lng":-46.63}');

    expect(await findAnywhere([p.name, p.user.email, p.phone, p.phone.slice(3), p.cpf])).toEqual([]);
    expect(await userRow(p.user.id)).toMatchObject({
      status: "blocked",
      cpf_hash: null,
      cpf_ciphertext: null,
    });
    expect(await env.DB.prepare("SELECT status FROM rides WHERE id = ?").bind(ride.json.id).first()).toEqual({
      status: "cancelled",
    });
    // The old credentials and tokens no longer work.
    expectProblem(await call("GET", "/v1/me", { token: p.user.accessToken }), 403, "user_blocked");
    const login = await call("POST", "/v1/auth/login", {
      body: { email: p.user.email, password: p.user.password },
      headers: { "cf-connecting-ip": p.user.ip },
    });
    expectProblem(login, 401, "invalid_credentials");
    await expectLedgerConsistent();
  });

  it("refuses a driver with money in the wallet or an active ride; once settled, erases files in R2 too", async () => {
    const d = await person("driver");
    await registerVehicle(d.user);
    await uploadFullSet(d.user);
    await upload(d.user, "selfie");
    await fund(700, d.user.id);
    expectProblem(await erase(d.user), 409, "wallet_not_settled");
    expect((await env.DOCUMENTS.list({ prefix: `drivers/${d.user.id}/` })).objects.length).toBe(6);

    const busy = await onlineDriver();
    const rider = await registerUser("passenger");
    const ride = await requestRide(rider);
    expect((await postRide(busy.accessToken, ride.json.id, "accept")).status).toBe(200);
    expectProblem(await erase(busy), 409, "driver_has_active_ride");

    const clean = await person("driver");
    const cnhNumber = String(Math.floor(Math.random() * 1e11)).padStart(11, "7");
    await registerVehicle(clean.user, "QWE4R56");
    await uploadFullSet(clean.user, { "x-document-number": cnhNumber }, { "x-vehicle-plate": "qwe-4r56" });
    expect((await erase(clean.user)).status).toBe(204);
    expect((await env.DOCUMENTS.list({ prefix: `drivers/${clean.user.id}/` })).objects).toEqual([]);
    expect(
      await findAnywhere([clean.name, clean.user.email, clean.phone, clean.cpf, "QWE4R56", cnhNumber]),
    ).toEqual([]);
    await expectLedgerConsistent();
  });

  it("refuses a passenger with an unpaid cancellation fee until it is paid", async () => {
    await registerWebhook();
    const p = await person("passenger");
    const driver = await onlineDriver();
    const ride = await requestRide(p.user, { payment_method: "pix" });
    expect(ride.status, ride.text).toBe(201);
    await driveTo(driver, ride.json.id, ["accept", "arrive"]);
    await acceptedLongAgo(ride.json.id);
    const cancelled = await postRide(p.user.accessToken, ride.json.id, "cancel", {
      reason: "changed my mind",
    });
    expect(cancelled.json).toMatchObject({ status: "cancelled", cancellation_fee_cents: POP_FEE_CENTS });

    const before = await userRow(p.user.id);
    const refused = await erase(p.user);
    expectProblem(refused, 409, "outstanding_cancellation_fee");
    expect(refused.json.detail).toContain(ride.json.id);
    expect(await userRow(p.user.id)).toEqual(before);
    expect((await call("GET", "/v1/me", { token: p.user.accessToken })).status).toBe(200);

    const payment = await ridePayment(p.user, ride.json.id);
    expect(payment.json).toMatchObject({ status: "pending", amount_cents: POP_FEE_CENTS });
    await payAtSandbox(payment.json.pix.txid);
    await waitForPaymentStatus(() => ridePayment(p.user, ride.json.id), "paid");
    const erased = await erase(p.user);
    expect(erased.status, erased.text).toBe(204);
    expect(await userRow(p.user.id)).toMatchObject({ status: "blocked" });
  });

  it("refuses a driver in debt until earnings settle it", async () => {
    const d = await person("driver");
    // A clawback (as after a MED) takes his available balance below zero: he owes the platform.
    await post(createServiceContext(env), {
      idempotencyKey: `test:owe:${unique()}`,
      kind: "test.clawback",
      reference: { type: "test", id: unique() },
      effectiveAt: new Date(),
      lines: [
        { account: driverAccount(d.user.id, "available"), amount: 700 },
        { account: platformAccount("efi_clearing"), amount: -700 },
      ],
    });
    expect(await walletOf(d.user)).toMatchObject({ available_cents: -700 });
    const before = await userRow(d.user.id);
    const refused = await erase(d.user);
    expectProblem(refused, 409, "wallet_not_settled");
    expect(refused.json.detail).toContain("available");
    expect(await userRow(d.user.id)).toEqual(before);

    await fund(700, d.user.id);
    expect(await walletOf(d.user)).toMatchObject({ available_cents: 0 });
    const erased = await erase(d.user);
    expect(erased.status, erased.text).toBe(204);
  });

  it("is not for staff", async () => {
    const admin = await createStaff("admin");
    expectProblem(await erase(admin as TestUser), 403, "forbidden");
  });
});
