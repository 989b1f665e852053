import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  type MessageBatchMessage,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createServiceContext } from "../../src/composition";
import { handleScheduled } from "../../src/cron";
import { runNightly } from "../../src/cron/nightly";
import worker from "../../src/index";
import { retryDelaySeconds } from "../../src/queues/retry";
import { enqueueDueSettlements, handleSettlementsBatch } from "../../src/queues/settlements";
import type { ServiceContext } from "../../src/services/context";
import { driverAccount, platformAccount } from "../../src/services/ledger/accounts";
import { balanceOf } from "../../src/services/ledger/balances";
import { post } from "../../src/services/ledger/post";
import { SETTLEMENT_PAGE_SIZE, type SettlementsQueueMessage } from "../../src/services/queue-messages";
import { unique } from "../helpers";
import { expectLedgerConsistent, insertUser, postPaidRide } from "../money-helpers";

const NIGHTLY = "0 3 * * *";

/** A queue producer that keeps what is sent, so a test can deliver it itself. */
function capturingQueue() {
  const sent: SettlementsQueueMessage[] = [];
  const queue = {
    async send(body: SettlementsQueueMessage) {
      sent.push(body);
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
    async sendBatch(messages: Iterable<MessageSendRequest<SettlementsQueueMessage>>) {
      for (const m of messages) sent.push(m.body);
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    },
    async metrics() {
      return { backlogCount: 0, backlogBytes: 0 };
    },
  } as unknown as Queue;
  return { sent, queue };
}

/** A service context whose clock reads `at` and whose settlements queue is captured. */
function capturingCtx(at: string) {
  const { sent, queue } = capturingQueue();
  const fixed = new Date(at);
  const ctx: ServiceContext = {
    ...createServiceContext(env),
    now: () => fixed,
    env: { ...env, SETTLEMENTS_QUEUE: queue },
  };
  return { ctx, sent };
}

/** A confirmed Pix ride payment with its settlement, as the payments service writes it. */
async function paidRide(driverId: string, confirmedAt: string, share = 1600, commission = 400) {
  const { transactionId } = await postPaidRide(driverId, confirmedAt, share, commission);
  const row = await env.DB.prepare("SELECT id, due_on FROM settlements WHERE source_transaction_id = ?")
    .bind(transactionId)
    .first<{ id: string; due_on: string }>();
  if (!row) throw new Error("no settlement was scheduled");
  return row;
}

async function balances(driverId: string) {
  const ctx = createServiceContext(env);
  return {
    pending: await balanceOf(ctx, driverAccount(driverId, "pending")),
    available: await balanceOf(ctx, driverAccount(driverId, "available")),
  };
}

let messageCounter = 0;
function asMessages(bodies: unknown[], attempts = 1): MessageBatchMessage[] {
  return bodies.map((body) => {
    messageCounter += 1;
    return { id: `msg-${unique()}-${messageCounter}`, timestamp: new Date(), attempts, body };
  });
}

/** Delivers messages to the Worker's own queue handler, as the runtime would, and its verdict. */
async function deliver(queueName: string, messages: MessageBatchMessage[]) {
  const batch = createMessageBatch(queueName, messages);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  await waitOnExecutionContext(ctx);
  return getQueueResult(batch, ctx);
}

const releaseCount = (settlementId: string) =>
  env.DB.prepare("SELECT count(*) AS n FROM ledger_transactions WHERE idempotency_key = ?")
    .bind(`settlement:${settlementId}`)
    .first<number>("n");

const deadLetters = (messageId: string) =>
  env.DB.prepare("SELECT queue, message_id, body, attempts FROM dead_letters WHERE message_id = ?")
    .bind(messageId)
    .all()
    .then((r) => r.results);

/** Payments here are dated in November 2026 and the sweep runs only in the nightly tests. */
const CHECKED_BEFORE_PAYMENTS = new Date("2026-11-01T00:00:00Z");

describe("nightly cron → settlements queue → release", () => {
  it("enqueues due settlements in pages; the consumer releases them once, even delivered twice", async () => {
    const driver = await insertUser();
    const due = [
      await paidRide(driver, "2026-11-09T15:00:00Z", 1000, 250), // due Wed 11th
      await paidRide(driver, "2026-11-10T15:00:00Z", 2000, 500), // due Thu 12th
    ];
    const later = await paidRide(driver, "2027-05-03T15:00:00Z", 3000, 750);
    expect(due.map((d) => d.due_on)).toEqual(["2026-11-11", "2026-11-12"]);

    const { ctx, sent } = capturingCtx("2026-11-12T03:00:02Z");
    const report = await runNightly(ctx, Date.parse("2026-11-12T03:00:00Z"));
    expect(report.businessDate).toBe("2026-11-12");
    expect(sent.length).toBeGreaterThanOrEqual(1);
    for (const message of sent) {
      expect(message).toMatchObject({ type: "settlement.release", business_date: "2026-11-12" });
      if (message.type === "settlement.release") {
        expect(message.settlement_ids.length).toBeLessThanOrEqual(SETTLEMENT_PAGE_SIZE);
      }
    }
    const enqueued = sent.flatMap((m) => (m.type === "settlement.release" ? m.settlement_ids : []));
    for (const d of due) expect(enqueued).toContain(d.id);
    expect(enqueued).not.toContain(later.id);
    expect(report.settlements).toMatchObject({ pages: sent.length, settlements: enqueued.length });

    const messages = asMessages(sent);
    const first = await deliver("settlements", messages);
    expect(first.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    expect(first.retryMessages).toEqual([]);
    expect(await balances(driver)).toEqual({ pending: 3000, available: 3000 });

    // At-least-once delivery: the same messages again move nothing.
    const second = await deliver("settlements", messages);
    expect(second.explicitAcks.sort()).toEqual(messages.map((m) => m.id).sort());
    expect(await balances(driver)).toEqual({ pending: 3000, available: 3000 });
    for (const d of due) expect(await releaseCount(d.id)).toBe(1);
    expect(await releaseCount(later.id)).toBe(0);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("two nightly runs racing each other enqueue twice and release each amount once", async () => {
    const driver = await insertUser();
    const rows = [];
    for (let i = 0; i < 3; i += 1) rows.push(await paidRide(driver, "2026-11-16T15:00:00Z", 500 + i, 100));
    const { ctx, sent } = capturingCtx("2026-11-18T03:00:01Z");
    await Promise.all([
      runNightly(ctx, Date.parse("2026-11-18T03:00:00Z")),
      runNightly(ctx, Date.parse("2026-11-18T03:00:00Z")),
    ]);
    const enqueued = sent.flatMap((m) => (m.type === "settlement.release" ? m.settlement_ids : []));
    for (const r of rows) expect(enqueued.filter((id) => id === r.id)).toHaveLength(2);

    // Both copies in one batch, and both batches racing.
    const messages = asMessages(sent);
    const [a, b] = await Promise.all([deliver("settlements", messages), deliver("settlements", messages)]);
    expect(a.retryMessages).toEqual([]);
    expect(b.retryMessages).toEqual([]);
    expect(a.explicitAcks).toHaveLength(messages.length);
    expect(await balances(driver)).toEqual({ pending: 0, available: 500 + 501 + 502 });
    for (const r of rows) expect(await releaseCount(r.id)).toBe(1);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("hands the rest on in a scan message when a run reaches its page budget", async () => {
    const driver = await insertUser();
    const rows = [];
    for (let i = 0; i < 5; i += 1) rows.push(await paidRide(driver, "2026-11-02T15:00:00Z", 300 + i, 100));
    const { ctx, sent } = capturingCtx("2026-11-04T03:00:01Z");
    const first = await enqueueDueSettlements(ctx, "2026-11-04", { pageSize: 2, maxPages: 2 });
    expect(first.pages).toBe(2);
    expect(first.continuedAfter).not.toBeNull();
    expect(sent.map((m) => m.type)).toEqual(["settlement.release", "settlement.release", "settlement.scan"]);

    // The consumer follows the scan message with the remaining pages (default page size).
    const scan = sent.splice(2);
    const batch = createMessageBatch("settlements", asMessages(scan));
    await handleSettlementsBatch(batch, ctx);
    const rest = sent.splice(2);
    expect(rest.every((m) => m.type === "settlement.release")).toBe(true);
    const ids = [...sent, ...rest].flatMap((m) => (m.type === "settlement.release" ? m.settlement_ids : []));
    for (const r of rows) expect(ids.filter((id) => id === r.id)).toHaveLength(1);

    const result = await deliver("settlements", asMessages([...sent, ...rest]));
    expect(result.retryMessages).toEqual([]);
    expect(await balances(driver)).toEqual({ pending: 0, available: 300 + 301 + 302 + 303 + 304 });
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("the Worker's scheduled handler runs the nightly job and the real queue releases what is due", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-19T15:00:00Z", 4321, 1000); // due Tue 24th
    expect(settlement.due_on).toBe("2026-11-24");
    const controller = createScheduledController({
      scheduledTime: Date.parse("2026-11-24T03:00:00Z"),
      cron: NIGHTLY,
    });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    // The message went through the settlements queue of wrangler.toml to this Worker's consumer.
    await vi.waitFor(async () => expect(await balances(driver)).toEqual({ pending: 0, available: 4321 }), {
      timeout: 10_000,
      interval: 100,
    });
    expect(await releaseCount(settlement.id)).toBe(1);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("exports.default.scheduled runs the same nightly job", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-20T15:00:00Z", 999, 100); // due Tue 24th
    const fetcher = exports.default as unknown as {
      scheduled(options: { scheduledTime?: Date; cron?: string }): Promise<unknown>;
    };
    await fetcher.scheduled({ scheduledTime: new Date("2026-11-24T03:00:00Z"), cron: NIGHTLY });
    await vi.waitFor(async () => expect(await balances(driver)).toEqual({ pending: 0, available: 999 }), {
      timeout: 10_000,
      interval: 100,
    });
    expect(await releaseCount(settlement.id)).toBe(1);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });
});

describe("settlements queue consumer", () => {
  it.each([
    ["an unknown type", { type: "settlement.explode", settlement_ids: [] }],
    [
      "a bad id",
      {
        type: "settlement.release",
        settlement_ids: ["'; DROP TABLE settlements"],
        business_date: "2026-11-20",
      },
    ],
    ["no ids", { type: "settlement.release", settlement_ids: [], business_date: "2026-11-20" }],
    [
      "a bad date",
      {
        type: "settlement.release",
        settlement_ids: ["stl_01KB0000000000000000000000"],
        business_date: "tomorrow",
      },
    ],
    [
      "more ids than a page",
      {
        type: "settlement.release",
        settlement_ids: Array.from({ length: 101 }, (_, i) => `stl_01KB${String(i).padStart(22, "0")}`),
        business_date: "2026-11-20",
      },
    ],
    ["a string", "settlement.release"],
    ["null", null],
  ])("acks a malformed message (%s) without effect, and keeps it for a person", async (_, body) => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-03T15:00:00Z");
    const messages = asMessages([body], 4);
    const result = await deliver("settlements", messages);
    expect(result.explicitAcks).toEqual([messages[0]?.id]);
    expect(result.retryMessages).toEqual([]);
    expect(await balances(driver)).toEqual({ pending: 1600, available: 0 });
    expect(await releaseCount(settlement.id)).toBe(0);
    expect(await deadLetters(messages[0]?.id ?? "")).toEqual([
      { queue: "settlements", message_id: messages[0]?.id, body: JSON.stringify(body), attempts: 4 },
    ]);
  });

  it("retries a message whose release fails, with a delay that grows with its attempts, and acks the rest", async () => {
    const driver = await insertUser();
    const ok = await paidRide(driver, "2026-11-04T15:00:00Z", 1000, 100);
    const other = await insertUser();
    const failing = await paidRide(other, "2026-11-04T15:00:00Z", 1000, 100);
    // Pending no longer covers the settlement (a clawback took it): its release is refused.
    const clawback = await post(createServiceContext(env), {
      idempotencyKey: `test:${unique()}`,
      kind: "test.clawback",
      reference: { type: "test", id: other },
      effectiveAt: new Date("2026-11-05T12:00:00Z"),
      lines: [
        { account: driverAccount(other, "pending"), amount: 1000 },
        { account: platformAccount("revenue"), amount: -1000 },
      ],
    });
    const messages = [
      ...asMessages(
        [{ type: "settlement.release", settlement_ids: [failing.id], business_date: "2026-11-06" }],
        3,
      ),
      ...asMessages(
        [{ type: "settlement.release", settlement_ids: [ok.id], business_date: "2026-11-06" }],
        1,
      ),
    ];
    const batch = createMessageBatch("settlements", messages);
    // The test harness records that a message was retried, not its delay: watch the call.
    const retry = vi.spyOn(batch.messages[0] as Message, "retry");
    const execution = createExecutionContext();
    await worker.queue(batch, env, execution);
    const result = await getQueueResult(batch, execution);
    expect(result.retryMessages).toEqual([{ msgId: messages[0]?.id }]);
    expect(retry).toHaveBeenCalledWith({ delaySeconds: 120 });
    expect(result.explicitAcks).toEqual([messages[1]?.id]);
    expect(await balances(driver)).toEqual({ pending: 0, available: 1000 });
    expect(await balances(other)).toEqual({ pending: 0, available: 0 });
    expect(await releaseCount(failing.id)).toBe(0);

    // The clawback is reversed; the next delivery of the same message releases it, once.
    await post(createServiceContext(env), {
      idempotencyKey: `reversal:${clawback.transactionId}`,
      kind: "test.clawback.reversal",
      reference: { type: "test", id: other },
      effectiveAt: new Date("2026-11-05T13:00:00Z"),
      reversesId: clawback.transactionId,
      lines: [
        { account: driverAccount(other, "pending"), amount: -1000 },
        { account: platformAccount("revenue"), amount: 1000 },
      ],
    });
    const retried = await deliver("settlements", [{ ...(messages[0] as MessageBatchMessage), attempts: 4 }]);
    expect(retried.explicitAcks).toEqual([messages[0]?.id]);
    expect(await balances(other)).toEqual({ pending: 0, available: 1000 });
    expect(await releaseCount(failing.id)).toBe(1);
    await expectLedgerConsistent({ now: CHECKED_BEFORE_PAYMENTS });
  });

  it("leaves settlements a message names that are not due on its business date", async () => {
    const driver = await insertUser();
    const settlement = await paidRide(driver, "2026-11-05T15:00:00Z"); // due Mon 9th
    const messages = asMessages([
      { type: "settlement.release", settlement_ids: [settlement.id], business_date: "2026-11-06" },
    ]);
    const result = await deliver("settlements", messages);
    expect(result.explicitAcks).toEqual([messages[0]?.id]);
    expect(await balances(driver)).toEqual({ pending: 1600, available: 0 });
  });

  it("backs off 30 s, 1, 2, 4, 8 minutes … up to an hour", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(retryDelaySeconds)).toEqual([
      30, 60, 120, 240, 480, 960, 1920, 3600, 3600,
    ]);
  });
});

describe("dead letters", () => {
  it("the dead-letter consumer keeps each message once and acks it", async () => {
    const body = {
      type: "settlement.release",
      settlement_ids: ["stl_01KB0000000000000000000000"],
      business_date: "2026-11-20",
    };
    const messages = asMessages([body], 6);
    const first = await deliver("settlements-dlq", messages);
    expect(first.explicitAcks).toEqual([messages[0]?.id]);
    const again = await deliver("settlements-dlq", messages);
    expect(again.explicitAcks).toEqual([messages[0]?.id]);
    expect(await deadLetters(messages[0]?.id ?? "")).toEqual([
      { queue: "settlements-dlq", message_id: messages[0]?.id, body: JSON.stringify(body), attempts: 6 },
    ]);
  });

  it("a queue nobody consumes is logged, kept and acked, never retried", async () => {
    const messages = asMessages([{ hello: "world" }]);
    const result = await deliver("mystery-queue", messages);
    expect(result.ackAll).toBe(true);
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    expect(await deadLetters(messages[0]?.id ?? "")).toHaveLength(1);
  });

  it("an unknown cron expression does nothing", async () => {
    const { queue, sent } = capturingQueue();
    const controller = createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" });
    await handleScheduled(controller, { ...env, SETTLEMENTS_QUEUE: queue }, createExecutionContext());
    expect(sent).toEqual([]);
  });
});
