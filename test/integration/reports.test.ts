import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { registerWebhook } from "../efi-webhook-helpers";
import {
  cardPassenger,
  normalTrip,
  payAtSandbox,
  popCommission,
  quote,
  ridePayment,
  waitForPaymentStatus,
} from "../fee-helpers";
import { call, createStaff, expectProblem, registerUser, type TestUser, unique } from "../helpers";
import { expectLedgerConsistent } from "../money-helpers";
import { onlineDriver, PAULISTA, requestRide, SE } from "../ride-helpers";

// The reports through the HTTP API, as staff read them. The revenue report is reconciled with the
// ledger to the centavo after a cash, a card and a Pix ride and a card refund.

const TRIP = { pickup: SE, dropoff: PAULISTA, category: "pop" };
const DAY_MS = 86_400_000;
const saoPauloDate = (at: number) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(new Date(at));
// Yesterday to tomorrow in São Paulo, so a run across local midnight still sees everything.
const FROM = saoPauloDate(Date.now() - DAY_MS);
const TO = saoPauloDate(Date.now() + DAY_MS);

type Row = Record<string, any>;

async function report(staff: TestUser, name: string, query: Record<string, string> = {}) {
  const params = new URLSearchParams({ from: FROM, to: TO, ...query });
  return call("GET", `/v1/admin/reports/${name}?${params}`, { token: staff.accessToken });
}

async function rows(staff: TestUser, name: string): Promise<Row[]> {
  const reply = await report(staff, name);
  expect(reply.status, reply.text).toBe(200);
  expect(reply.json).toMatchObject({
    city_id: "sao_paulo",
    timezone: "America/Sao_Paulo",
    from: FROM,
    to: TO,
  });
  return reply.json.rows;
}

/** Sums of each numeric column per payment method over the range. */
function byMethod(list: Row[]): Record<string, Row> {
  const out: Record<string, Row> = {};
  for (const row of list) {
    const sum = out[row.payment_method] ?? {};
    out[row.payment_method] = sum;
    for (const [key, value] of Object.entries(row)) {
      if (typeof value === "number") sum[key] = (sum[key] ?? 0) + value;
    }
  }
  return out;
}

function minus(after: Row, before: Row): Row {
  return Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - (before[key] ?? 0)]));
}

/** What the ledger itself says over the same local days, read straight from the entries. */
async function ledgerFigures(startUtc: string, endUtc: string) {
  const sum = async (where: string) =>
    (await env.DB.prepare(
      `SELECT COALESCE(SUM(e.amount), 0) AS s FROM ledger_entries e
       JOIN ledger_transactions t ON t.id = e.transaction_id
       WHERE t.effective_at >= ? AND t.effective_at < ? AND ${where}`,
    )
      .bind(startUtc, endUtc)
      .first<number>("s")) ?? 0;
  return {
    pixIn: await sum("t.kind = 'ride.payment' AND e.account_id = 'platform:platform:efi_clearing'"),
    cardIn: await sum("t.kind = 'ride.payment' AND e.account_id = 'platform:platform:card_clearing'"),
    driversPending: -(await sum("t.kind = 'ride.payment' AND e.account_id LIKE 'driver:%:pending'")),
    refundsOut: -(await sum("t.kind = 'payment.refund' AND e.account_id = 'platform:platform:efi_balance'")),
    // Every line of the revenue account but payout fees (no city), as the platform's books show it.
    revenue: -(await sum("e.account_id = 'platform:platform:revenue' AND t.kind NOT LIKE 'payout.%'")),
  };
}

async function topUp(driver: TestUser, amountCents: number) {
  const reply = await call("POST", "/v1/wallet/credit/topups", {
    token: driver.accessToken,
    headers: { "idempotency-key": unique() },
    body: { amount_cents: amountCents },
  });
  expect(reply.status, reply.text).toBe(201);
  await payAtSandbox(reply.json.pix.txid);
  await waitForPaymentStatus(
    () => call("GET", `/v1/payments/${reply.json.id}`, { token: driver.accessToken }),
    "paid",
  );
}

async function completedRide(passenger: TestUser, driver: TestUser, method: "pix" | "card" | "cash") {
  const quoted = await quote(passenger, TRIP);
  const requested = await requestRide(passenger, { payment_method: method, quote_id: quoted.quote_id });
  expect(requested.status, requested.text).toBe(201);
  const completed = await normalTrip(driver, requested.json);
  expect(completed.status).toBe("completed");
  return { id: completed.id as string, fare: completed.final_fare_cents as number };
}

describe("GET /v1/admin/reports/revenue", { timeout: 180_000 }, () => {
  it("agrees with the ledger to the centavo after cash, card and Pix rides and a refund", async () => {
    await registerWebhook();
    const finance = await createStaff("finance");
    const before = byMethod(await rows(finance, "revenue"));

    const driver = await onlineDriver();
    await topUp(driver, 5000);
    const cash = await completedRide(await registerUser("passenger"), driver, "cash");
    const cardPayer = await cardPassenger();
    const card = await completedRide(cardPayer, driver, "card");
    const pixPayer = await registerUser("passenger");
    const pix = await completedRide(pixPayer, driver, "pix");
    const pixPayment = await ridePayment(pixPayer, pix.id);
    await payAtSandbox(pixPayment.json.pix.txid);
    await waitForPaymentStatus(() => ridePayment(pixPayer, pix.id), "paid");

    // Part of the card fare goes back to the passenger.
    const cardPayment = await ridePayment(cardPayer, card.id);
    expect(cardPayment.json.status).toBe("paid");
    const refundCents = 300;
    const refund = await call("POST", `/v1/admin/payments/${cardPayment.json.id}/refund`, {
      token: finance.accessToken,
      headers: { "idempotency-key": unique() },
      body: { amount_cents: refundCents, reason: "detour" },
    });
    expect(refund.status, refund.text).toBe(202);
    expect(refund.json.refund.status).toBe("refunded");

    const after = await report(finance, "revenue");
    const delta = Object.fromEntries(
      Object.entries(byMethod(after.json.rows)).map(([method, sums]) => [
        method,
        minus(sums, before[method] ?? {}),
      ]),
    );
    const refundRevenue =
      refundCents - Math.round((refundCents * (card.fare - popCommission(card.fare))) / card.fare);
    expect(delta.cash).toMatchObject({
      rides_paid: 1,
      gross_fares_cents: cash.fare,
      commission_cents: popCommission(cash.fare),
      driver_earnings_cents: cash.fare - popCommission(cash.fare),
      refunds_cents: 0,
      revenue_cents: popCommission(cash.fare),
    });
    expect(delta.card).toMatchObject({
      rides_paid: 1,
      gross_fares_cents: card.fare,
      commission_cents: popCommission(card.fare),
      driver_earnings_cents: card.fare - popCommission(card.fare),
      refunds_cents: refundCents,
      revenue_cents: popCommission(card.fare) - refundRevenue,
    });
    expect(delta.pix).toMatchObject({
      rides_paid: 1,
      gross_fares_cents: pix.fare,
      commission_cents: popCommission(pix.fare),
      driver_earnings_cents: pix.fare - popCommission(pix.fare),
      refunds_cents: 0,
      revenue_cents: popCommission(pix.fare),
    });

    // The whole report, not only this test's rides, is the ledger's own figures.
    const start = new Date(`${FROM}T03:00:00.000Z`).toISOString();
    const end = new Date(new Date(`${TO}T03:00:00.000Z`).getTime() + DAY_MS).toISOString();
    const ledger = await ledgerFigures(start, end);
    const total = byMethod(after.json.rows);
    const all = (key: string) => Object.values(total).reduce((s, row) => s + row[key], 0);
    expect(total.pix?.gross_fares_cents + total.pix?.cancellation_fees_cents).toBe(ledger.pixIn);
    expect(total.card?.gross_fares_cents + total.card?.cancellation_fees_cents).toBe(ledger.cardIn);
    expect((total.pix?.driver_earnings_cents ?? 0) + (total.card?.driver_earnings_cents ?? 0)).toBe(
      ledger.driversPending,
    );
    expect(all("refunds_cents")).toBe(ledger.refundsOut);
    expect(all("revenue_cents")).toBe(ledger.revenue);

    // The same report as CSV: one line per day and method, the same figures.
    const csv = await call("GET", `/v1/admin/reports/revenue?from=${FROM}&to=${TO}&format=csv`, {
      token: finance.accessToken,
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toBe(
      "date,payment_method,rides_paid,gross_fares_cents,cancellation_fees_cents,commission_cents,driver_earnings_cents,refunds_cents,revenue_cents",
    );
    expect(lines).toHaveLength(1 + 3 * 3);
    const csvRevenue = lines.slice(1).reduce((s, line) => s + Number(line.split(",")[8]), 0);
    expect(csvRevenue).toBe(ledger.revenue);
    await expectLedgerConsistent();
  });
});

describe("GET /v1/admin/reports/rides, payouts and drivers", { timeout: 120_000 }, () => {
  it("count a completed ride, a cancellation and the driver's trip on their days", async () => {
    const ops = await createStaff("ops");
    const beforeRides = await rows(ops, "rides");
    const beforeDrivers = await rows(ops, "drivers");
    const driver = await onlineDriver();
    await completedRide(await registerUser("passenger"), driver, "cash");
    const quitter = await registerUser("passenger");
    const quoted = await quote(quitter, TRIP);
    const requested = await requestRide(quitter, { payment_method: "cash", quote_id: quoted.quote_id });
    const cancelled = await call("POST", `/v1/rides/${requested.json.id}/cancel`, {
      token: quitter.accessToken,
      body: { reason: "changed my mind" },
    });
    expect(cancelled.status, cancelled.text).toBe(200);

    const sum = (list: Row[], key: string) => list.reduce((s, row) => s + (row[key] ?? 0), 0);
    const afterRides = await rows(ops, "rides");
    expect(afterRides.map((r) => r.date)).toEqual([FROM, saoPauloDate(Date.now()), TO]);
    for (const [key, n] of [
      ["requested", 2],
      ["accepted", 1],
      ["completed", 1],
      ["cancelled_by_passenger", 1],
    ] as const) {
      expect(sum(afterRides, key) - sum(beforeRides, key), key).toBe(n);
    }
    const today = afterRides.find((r) => r.date === saoPauloDate(Date.now()));
    expect(today?.acceptance_rate).toBeGreaterThan(0);
    expect(today?.avg_wait_to_accept_s).toBeGreaterThanOrEqual(0);

    const afterDrivers = await rows(ops, "drivers");
    expect(sum(afterDrivers, "trips") - sum(beforeDrivers, "trips")).toBe(1);
    // Online hours are a figure on every day (exact figures: "online hours" below).
    expect(afterDrivers.every((r) => typeof r.online_hours === "number" && r.online_hours >= 0)).toBe(true);

    const payouts = await report(ops, "payouts", { format: "csv" });
    expect(payouts.status, payouts.text).toBe(200);
    expect(payouts.text.split("\r\n")[0]).toBe(
      "date,requested,amount_cents,fees_cents,paid,paid_amount_cents,failed,failed_amount_cents,in_transit,avg_seconds_to_paid",
    );
    const viaAccept = await call("GET", `/v1/admin/reports/drivers?from=${FROM}&to=${TO}`, {
      token: ops.accessToken,
      headers: { accept: "text/csv" },
    });
    expect(viaAccept.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(viaAccept.text.split("\r\n")).toHaveLength(1 + 3 + 1);
  });
});

describe("GET /v1/admin/reports: refusals", () => {
  it("names the field of a bad date, a reversed or too long range, and an unknown city", async () => {
    const staff = await createStaff("support");
    const cases: [Record<string, string>, string][] = [
      [{ from: "2026-13-01" }, "from"],
      [{ to: "2026-02-30" }, "to"],
      [{ from: "yesterday" }, "from"],
      [{ from: "2026-05-02", to: "2026-05-01" }, "to"],
      [{ from: "2025-01-01", to: "2026-01-02" }, "to"],
      [{ city_id: "atlantis" }, "city_id"],
      [{ format: "xml" }, "format"],
    ];
    for (const [query, field] of cases) {
      const reply = await report(staff, "rides", query);
      expectProblem(reply, 400, "validation_failed");
      expect(
        reply.json.errors.map((e: { path: string }) => e.path),
        JSON.stringify(query),
      ).toContain(field);
    }
    const year = await report(staff, "rides", { from: "2024-01-01", to: "2024-12-31" });
    expect(year.status, year.text).toBe(200);
    expect(year.json.rows).toHaveLength(366);
  });

  it("is refused to a driver and without a token", async () => {
    const driver = await registerUser("driver");
    expectProblem(await report(driver, "revenue"), 403, "forbidden");
    expectProblem(
      await call("GET", `/v1/admin/reports/revenue?from=${FROM}&to=${TO}`),
      401,
      "authentication_required",
    );
  });
});

describe("GET /v1/admin/reports/drivers: online hours", { timeout: 60_000 }, () => {
  // The server's clock is set by hand to local times in January 2026, far from the other tests'
  // days; each test uses its own days, so a day's figure is exactly that test's drivers'.
  // São Paulo is UTC−3 all year.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const at = (localTime: string) => vi.setSystemTime(new Date(`${localTime}-03:00`));

  /** A fresh access token at the current (fake) time: tokens last 15 minutes. */
  async function signIn(user: TestUser): Promise<TestUser> {
    const reply = await call("POST", "/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": user.ip },
    });
    expect(reply.status, reply.text).toBe(200);
    return { ...user, accessToken: reply.json.access_token };
  }

  async function setStatus(driver: TestUser, status: "online" | "offline") {
    const signedIn = await signIn(driver);
    const reply = await call("POST", `/v1/drivers/me/${status}`, {
      token: signedIn.accessToken,
      ...(status === "online" ? { body: SE } : {}),
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.status).toBe(status);
  }

  async function onlineHours(from: string, to: string): Promise<number[]> {
    const ops = await createStaff("ops");
    const reply = await call("GET", `/v1/admin/reports/drivers?from=${from}&to=${to}`, {
      token: ops.accessToken,
    });
    expect(reply.status, reply.text).toBe(200);
    return reply.json.rows.map((r: Row) => r.online_hours);
  }

  it("splits a session from 22:30 to 01:30 local into 1.5 h on each day, in JSON and CSV", async () => {
    at("2026-01-12T22:30:00");
    const driver = await onlineDriver("pop", SE);
    at("2026-01-13T01:30:00");
    await setStatus(driver, "offline");
    at("2026-01-13T09:00:00");
    expect(await onlineHours("2026-01-11", "2026-01-14")).toEqual([0, 1.5, 1.5, 0]);

    const ops = await createStaff("ops");
    const csv = await call("GET", "/v1/admin/reports/drivers?from=2026-01-12&to=2026-01-13&format=csv", {
      token: ops.accessToken,
    });
    expect(csv.status, csv.text).toBe(200);
    const [header, ...lines] = csv.text.trim().split("\r\n");
    const column = header?.split(",").indexOf("online_hours") ?? -1;
    expect(column).toBeGreaterThan(0);
    expect(lines.map((line) => line.split(",")[column])).toEqual(["1.5", "1.5"]);
  });

  it("counts a session still open up to the end of the range or now, whichever is earlier", async () => {
    at("2026-01-15T20:00:00");
    const driver = await onlineDriver("pop", SE);
    at("2026-01-16T02:00:00");
    expect(await onlineHours("2026-01-15", "2026-01-15")).toEqual([4]);
    expect(await onlineHours("2026-01-15", "2026-01-17")).toEqual([4, 2, 0]);
    // Going online again while online changes nothing; going offline closes it at that time.
    at("2026-01-16T02:30:00");
    await setStatus(driver, "online");
    at("2026-01-16T03:00:00");
    await setStatus(driver, "offline");
    at("2026-01-16T12:00:00");
    expect(await onlineHours("2026-01-15", "2026-01-17")).toEqual([4, 3, 0]);
  });

  it("sums every session of the day: offline, online, offline twice, and other drivers", async () => {
    at("2026-01-18T09:00:00");
    const driver = await onlineDriver("pop", SE);
    at("2026-01-18T10:00:00");
    await setStatus(driver, "offline");
    at("2026-01-18T11:00:00");
    await setStatus(driver, "online");
    at("2026-01-18T11:30:00");
    await setStatus(driver, "offline");
    // Another driver, overlapping the first one's hours: 09:30 to 10:30.
    at("2026-01-18T09:30:00");
    const other = await onlineDriver("pop", SE);
    at("2026-01-18T10:30:00");
    await setStatus(other, "offline");
    at("2026-01-18T12:00:00");
    expect(await onlineHours("2026-01-18", "2026-01-18")).toEqual([2.5]);

    // The log holds every change, written by the database's triggers at the API's times.
    const { results } = await env.DB.prepare(
      "SELECT status, city_id, online_at, at FROM driver_status_log WHERE driver_id = ? ORDER BY id",
    )
      .bind(driver.id)
      .all();
    expect(results).toEqual([
      { status: "online", city_id: "sao_paulo", online_at: null, at: "2026-01-18T12:00:00.000Z" },
      {
        status: "offline",
        city_id: "sao_paulo",
        online_at: "2026-01-18T12:00:00.000Z",
        at: "2026-01-18T13:00:00.000Z",
      },
      { status: "online", city_id: "sao_paulo", online_at: null, at: "2026-01-18T14:00:00.000Z" },
      {
        status: "offline",
        city_id: "sao_paulo",
        online_at: "2026-01-18T14:00:00.000Z",
        at: "2026-01-18T14:30:00.000Z",
      },
    ]);
  });

  it("closes a session when staff suspend the driver, whichever service changes the status", async () => {
    at("2026-01-20T08:00:00");
    const driver = await onlineDriver("pop", SE);
    at("2026-01-20T09:15:00");
    const ops = await createStaff("ops");
    const suspended = await call("POST", `/v1/admin/drivers/${driver.id}/suspend`, {
      token: ops.accessToken,
      body: { reason: "complaints under review" },
    });
    expect(suspended.status, suspended.text).toBe(200);
    at("2026-01-20T12:00:00");
    expect(await onlineHours("2026-01-20", "2026-01-20")).toEqual([1.25]);
  });
});
