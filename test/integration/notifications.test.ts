import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { clearFcmTokenCache } from "../../src/integrations/fcm/access-token";
import { sendNotification } from "../../src/services/notifications/send";
import type { SendNotificationMessage } from "../../src/services/queue-messages";
import { call, expectProblem, registerUser, unique } from "../helpers";
import {
  captureNotificationJobs,
  deliverNotifications,
  eventually,
  inboxRows,
  registerPhone,
} from "../notification-helpers";
import { pushEmulator, routePushToEmulator } from "../push-network";
import { onlineDriver, postRide, requestRide, rideWithDriver } from "../ride-helpers";
import { measure } from "../security/d1-round-trips";

routePushToEmulator();
const jobs = captureNotificationJobs();

beforeEach(() => {
  pushEmulator.failNext(0);
});

function job(userId: string, overrides: Partial<SendNotificationMessage> = {}): SendNotificationMessage {
  return {
    type: "send_notification",
    event_id: `evt_${unique()}`,
    recipient: { user_id: userId },
    kind: "ride_accepted",
    title: "Driver on the way",
    body: "A driver accepted your ride.",
    data: { ride_id: "ride_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" },
    ...overrides,
  };
}

describe("push of a ride offer", () => {
  it("reaches a backgrounded driver's phone by a correctly signed FCM send, without passenger data", async () => {
    const driver = await onlineDriver();
    const phone = await registerPhone(driver);
    const passenger = await registerUser("passenger");
    const ride = await requestRide(passenger);
    expect(ride.status, ride.text).toBe(201);

    // Nobody holds a socket: the offer's job is queued by the publish port all the same.
    const offers = await eventually(
      () => jobs.filter((j) => j.kind === "ride_offered" && j.data.ride_id === ride.json.id),
      (found) => found.some((j) => "user_id" in j.recipient && j.recipient.user_id === driver.id),
    );
    const mine = offers.filter((j) => "user_id" in j.recipient && j.recipient.user_id === driver.id);
    expect(mine).toHaveLength(1);
    const delivery = await deliverNotifications(mine);
    expect(delivery.result.explicitAcks).toHaveLength(1);

    const [message] = pushEmulator.messages(phone.token);
    expect(message?.name).toMatch(/^projects\/mobility-test\/messages\/\d+$/);
    expect(message?.message).toMatchObject({
      token: phone.token,
      notification: { title: "New ride nearby" },
      data: { ride_id: ride.json.id, kind: "ride_offered", event_type: "ride.offered" },
    });
    expect(JSON.stringify(message?.message)).not.toContain(passenger.id);

    // The emulator only issues access tokens for assertions that verify against the public key.
    const claims = pushEmulator.assertions().at(-1);
    expect(claims).toMatchObject({
      iss: env.FCM_CLIENT_EMAIL,
      aud: env.FCM_OAUTH_URL,
      scope: "https://www.googleapis.com/auth/firebase.messaging",
    });
    expect((claims?.exp ?? 0) - (claims?.iat ?? 0)).toBeLessThanOrEqual(3600);

    const inbox = await call("GET", "/v1/notifications", { token: driver.accessToken });
    expect(inbox.status).toBe(200);
    expect(inbox.json.items).toHaveLength(1);
    expect(inbox.json.items[0]).toMatchObject({ kind: "ride_offered", read_at: null });
  });

  it("queues the passenger's notification when a driver accepts, and none to the driver", async () => {
    const driver = await onlineDriver();
    const passenger = await registerUser("passenger");
    const ride = await requestRide(passenger);
    const accepted = await postRide(driver.accessToken, ride.json.id, "accept");
    expect(accepted.status, accepted.text).toBe(200);
    const found = await eventually(
      () => jobs.filter((j) => j.kind === "ride_accepted" && j.data.ride_id === ride.json.id),
      (list) => list.length > 0,
    );
    expect(found.map((j) => j.recipient)).toEqual([{ user_id: passenger.id }]);
  });
});

describe("the send_notification job", () => {
  it("writes one inbox row and pushes once when the job runs twice", async () => {
    const user = await registerUser("passenger");
    const phone = await registerPhone(user);
    const body = job(user.id);
    await deliverNotifications([body]);
    await deliverNotifications([body]);
    expect(await inboxRows(user.id)).toHaveLength(1);
    expect(pushEmulator.messages(phone.token)).toHaveLength(1);
  });

  it("records a consumer batch's inbox rows in one D1 round trip, then pushes each job once", async () => {
    const [first, second] = [await registerUser("passenger"), await registerUser("passenger")];
    const { driver, ride } = await rideWithDriver();
    const phones = [await registerPhone(first), await registerPhone(second), await registerPhone(driver)];
    const repeated = job(first.id);
    const batch = [
      repeated,
      job(second.id),
      job(first.id, { kind: "ride_arrived" }),
      job(driver.id, { kind: "payment_confirmed", recipient: { driver_of_ride: ride.id } }),
      repeated, // the queue may deliver a message twice, even in one batch
    ];
    const { reply: delivery, trace } = await measure(() => deliverNotifications(batch), { quiet: false });

    expect(delivery.result.explicitAcks).toHaveLength(5);
    expect((await inboxRows(first.id)).map((r) => r.kind).sort()).toEqual(["ride_accepted", "ride_arrived"]);
    expect(await inboxRows(second.id)).toHaveLength(1);
    expect((await inboxRows(driver.id)).filter((r) => r.kind === "payment_confirmed")).toHaveLength(1);
    expect(phones.map((phone) => pushEmulator.messages(phone.token).length)).toEqual([2, 1, 1]);
    // Every inbox row of the batch in one round trip, not one round trip per job.
    const inserts = trace.filter((sql) => /insert into "notifications"/i.test(sql));
    expect(inserts, trace.join("\n")).toHaveLength(1);
    expect(inserts[0]?.match(/insert into "notifications"/gi)).toHaveLength(5);
  });

  it("when one job of a batch cannot be recorded, only that one is retried", async () => {
    const user = await registerUser("passenger");
    const phone = await registerPhone(user);
    // A user erased between the event and the job: the inbox row's foreign key refuses it.
    const gone = job("usr_01JD8Y3M0S3Q4VQK6E9Q1T2B5C");
    const delivery = await deliverNotifications([gone, job(user.id)]);
    expect(delivery.result.retryMessages.map((m) => m.msgId)).toEqual([delivery.messages[0]?.id]);
    expect(delivery.result.explicitAcks).toEqual([delivery.messages[1]?.id]);
    expect(await inboxRows(user.id)).toHaveLength(1);
    expect(pushEmulator.messages(phone.token)).toHaveLength(1);
  });

  it("pushes once when two copies of the job run at the same time", async () => {
    const user = await registerUser("passenger");
    const phone = await registerPhone(user);
    const body = job(user.id);
    await Promise.all([deliverNotifications([body]), deliverNotifications([body])]);
    expect(await inboxRows(user.id)).toHaveLength(1);
    expect(pushEmulator.messages(phone.token)).toHaveLength(1);
  });

  it("removes a device FCM reports UNREGISTERED and keeps the others", async () => {
    const user = await registerUser("driver");
    const dead = await registerPhone(user, `dead-${unique()}`);
    const alive = await registerPhone(user);
    const delivery = await deliverNotifications([job(user.id)]);
    expect(delivery.result.explicitAcks).toHaveLength(1);
    const devices = await env.DB.prepare("SELECT id FROM devices WHERE user_id = ?").bind(user.id).all();
    expect(devices.results.map((r) => r.id)).toEqual([alive.id]);
    expect(pushEmulator.messages(dead.token)).toHaveLength(0);
    expect(pushEmulator.messages(alive.token)).toHaveLength(1);
    expect(await inboxRows(user.id)).toHaveLength(1);
  });

  it("retries with backoff after a 500, then succeeds", async () => {
    const user = await registerUser("passenger");
    const phone = await registerPhone(user);
    const body = job(user.id);
    pushEmulator.failNext(1);
    const first = await deliverNotifications([body], 1);
    expect(first.result.retryMessages).toHaveLength(1);
    expect(first.retried[0]?.delaySeconds).toBe(30);
    expect(pushEmulator.messages(phone.token)).toHaveLength(0);
    const [row] = await inboxRows(user.id);
    expect(row).toMatchObject({ pushed_at: null, push_claimed_at: null });

    const second = await deliverNotifications([body], 2);
    expect(second.result.explicitAcks).toHaveLength(1);
    expect(pushEmulator.messages(phone.token)).toHaveLength(1);
    const rows = await inboxRows(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.pushed_at).not.toBeNull();
  });

  it("gets no access token with a key the service account does not have: nothing is sent, the job retries", async () => {
    const user = await registerUser("passenger");
    const phone = await registerPhone(user);
    const { privateKey } = (await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", privateKey)) as ArrayBuffer);
    const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der))}\n-----END PRIVATE KEY-----`;
    const forged = createServiceContext({ ...env, FCM_PRIVATE_KEY: pem });
    clearFcmTokenCache();
    try {
      const outcome = await sendNotification(forged, job(user.id));
      expect(outcome).toMatchObject({ status: "retry" });
    } finally {
      clearFcmTokenCache();
    }
    expect(pushEmulator.messages(phone.token)).toHaveLength(0);
  });

  it("with push off writes the inbox row only", async () => {
    const user = await registerUser("passenger");
    const phone = await registerPhone(user);
    const ctx = { ...createServiceContext(env), push: null };
    const outcome = await sendNotification(ctx, job(user.id));
    expect(outcome).toMatchObject({ status: "done", detail: "push off" });
    expect(await inboxRows(user.id)).toHaveLength(1);
    expect(pushEmulator.messages(phone.token)).toHaveLength(0);
  });

  it("sends a ride's payment confirmation to its driver, looked up when the job runs", async () => {
    const { passenger, driver, ride } = await rideWithDriver();
    const rideId = ride.id;
    const outcome = await sendNotification(
      createServiceContext(env),
      job(driver.id, { kind: "payment_confirmed", recipient: { driver_of_ride: rideId } }),
    );
    expect(outcome.status).toBe("done");
    const rows = await inboxRows(driver.id);
    expect(rows.filter((r) => r.kind === "payment_confirmed")).toHaveLength(1);
    expect((await inboxRows(passenger.id)).filter((r) => r.kind === "payment_confirmed")).toHaveLength(0);
  });

  it("keeps a malformed job in dead_letters and acks it", async () => {
    const delivery = await deliverNotifications([{ type: "send_notification", event_id: "x" }]);
    expect(delivery.result.explicitAcks).toHaveLength(1);
    const row = await env.DB.prepare("SELECT queue FROM dead_letters WHERE message_id = ?")
      .bind(delivery.messages[0]?.id)
      .first();
    expect(row).toEqual({ queue: "notifications" });
  });
});

describe("the inbox", () => {
  it("lists only the caller's notifications, newest first, in pages", async () => {
    const user = await registerUser("passenger");
    const other = await registerUser("passenger");
    for (let i = 0; i < 3; i++) await deliverNotifications([job(user.id, { title: `n${i}` })]);
    await deliverNotifications([job(other.id, { title: "not yours" })]);
    const first = await call("GET", "/v1/notifications?limit=2", { token: user.accessToken });
    expect(first.status).toBe(200);
    expect(first.json.items.map((n: { title: string }) => n.title)).toEqual(["n2", "n1"]);
    const second = await call("GET", `/v1/notifications?limit=2&cursor=${first.json.next_cursor}`, {
      token: user.accessToken,
    });
    expect(second.json.items.map((n: { title: string }) => n.title)).toEqual(["n0"]);
    expect(second.json.next_cursor).toBeNull();
  });

  it("marks the caller's own notification read once; another user's is 404 and stays unread", async () => {
    const user = await registerUser("passenger");
    const other = await registerUser("driver");
    await deliverNotifications([job(user.id)]);
    const [row] = await inboxRows(user.id);
    const id = String(row?.id);

    expectProblem(
      await call("POST", `/v1/notifications/${id}/read`, { token: other.accessToken }),
      404,
      "not_found",
    );
    expect((await inboxRows(user.id))[0]?.read_at).toBeNull();

    const read = await call("POST", `/v1/notifications/${id}/read`, { token: user.accessToken });
    expect(read.status).toBe(200);
    expect(read.json.read_at).toEqual(expect.any(String));
    const again = await call("POST", `/v1/notifications/${id}/read`, { token: user.accessToken });
    expect(again.json.read_at).toBe(read.json.read_at);
  });
});
