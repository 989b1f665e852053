import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceContext } from "../../src/composition";
import { runDriverDocuments } from "../../src/cron/driver-documents";
import type { OutgoingEvent } from "../../src/services/events/wire";
import { inDays, JPEG, PDF, upload, uploadFullSet } from "../document-helpers";
import { call, createStaff, expectProblem, registerUser, type TestUser } from "../helpers";
import { postRide, requestedRide, SE } from "../ride-helpers";

const VEHICLE = { plate: "BRA2E19", model: "Onix", color: "Prata", category: "pop" };

async function driverWithVehicle() {
  const driver = await registerUser("driver");
  const reply = await call("PUT", "/v1/drivers/me/vehicle", { token: driver.accessToken, body: VEHICLE });
  expect(reply.status, reply.text).toBe(200);
  return driver;
}

const goOnline = (driver: TestUser) =>
  call("POST", "/v1/drivers/me/online", { token: driver.accessToken, body: SE });

async function driverRow(id: string) {
  return env.DB.prepare("SELECT * FROM drivers WHERE user_id = ?").bind(id).first<Record<string, any>>();
}

async function auditOf(id: string) {
  const { results } = await env.DB.prepare(
    "SELECT action, actor_id, before, after FROM audit_logs WHERE target_type = 'driver' AND target_id = ? ORDER BY id",
  )
    .bind(id)
    .all<{ action: string; actor_id: string | null; before: string; after: string }>();
  return results.map((r) => ({ ...r, before: JSON.parse(r.before), after: JSON.parse(r.after) }));
}

const review = (staff: TestUser, id: string, action: string, body?: unknown) =>
  call("POST", `/v1/admin/drivers/${id}/${action}`, { token: staff.accessToken, body });

/** A driver through the real flow: vehicle, five uploads, staff approval, online. */
async function approvedOnline() {
  const driver = await driverWithVehicle();
  await uploadFullSet(driver);
  const ops = await createStaff("ops");
  expect((await review(ops, driver.id, "approve")).status).toBe(200);
  expect((await goOnline(driver)).status).toBe(200);
  return { driver, ops };
}

/** A context whose clock reads `at` and whose events are recorded instead of sent. */
function cronContext(at: Date) {
  const events: { event: OutgoingEvent; users: readonly unknown[] }[] = [];
  const ctx = {
    ...createServiceContext(env),
    now: () => at,
    publish: async (event: OutgoingEvent, audience: { users?: readonly unknown[] }) => {
      events.push({ event, users: audience.users ?? [] });
    },
  };
  return { ctx, events };
}

describe("the whole onboarding flow", () => {
  it("a new driver cannot go online until staff approve a complete set, then can", async () => {
    const driver = await driverWithVehicle();
    expectProblem(await goOnline(driver), 409, "driver_not_approved");

    for (const kind of ["cnh", "crlv", "criminal_record", "vehicle_photo"]) {
      expect((await upload(driver, kind)).json.onboarding_status).toBe("pending_documents");
    }
    const last = await upload(driver, "selfie");
    expect(last.json.onboarding_status).toBe("under_review");
    expectProblem(await goOnline(driver), 409, "driver_not_approved");
    expect((await driverRow(driver.id))?.status).toBe("offline");

    const ops = await createStaff("ops");
    const queue = await call("GET", "/v1/admin/drivers?status=under_review&limit=100", {
      token: ops.accessToken,
    });
    expect(queue.status, queue.text).toBe(200);
    expect(queue.json.items.map((d: { user_id: string }) => d.user_id)).toContain(driver.id);
    const detail = await call("GET", `/v1/admin/drivers/${driver.id}`, { token: ops.accessToken });
    expect(detail.json).toMatchObject({ onboarding_status: "under_review", problems: [] });
    expect(detail.json.documents).toHaveLength(5);

    const approved = await review(ops, driver.id, "approve");
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json).toMatchObject({ onboarding_status: "approved", documents_expire_on: inDays(90) });
    expect(
      approved.json.documents.every((d: { review_status: string }) => d.review_status === "approved"),
    ).toBe(true);
    const audit = await auditOf(driver.id);
    expect(audit.at(-1)).toMatchObject({
      action: "driver.approve",
      actor_id: ops.id,
      before: { onboarding_status: "under_review" },
      after: { onboarding_status: "approved" },
    });

    const online = await goOnline(driver);
    expect(online.status, online.text).toBe(200);
    expect(online.json.status).toBe("online");
  });

  it("rejects with a reason; the driver uploads again and is back under review", async () => {
    const driver = await driverWithVehicle();
    await uploadFullSet(driver);
    const ops = await createStaff("ops");
    const rejected = await review(ops, driver.id, "reject", { reason: "the selfie does not show the face" });
    expect(rejected.json).toMatchObject({
      onboarding_status: "rejected",
      onboarding_reason: "the selfie does not show the face",
    });
    const mine = await call("GET", "/v1/drivers/me/documents", { token: driver.accessToken });
    expect(mine.json).toMatchObject({
      onboarding_status: "rejected",
      onboarding_reason: "the selfie does not show the face",
    });
    const refused = await goOnline(driver);
    expectProblem(refused, 409, "driver_not_approved");
    expect(refused.json.detail).toContain("the selfie does not show the face");
    // Approving a rejected driver is not a transition; nothing changes.
    expectProblem(await review(ops, driver.id, "approve"), 409, "onboarding_transition_invalid");

    // Every newest document was rejected: the set is complete again only once all are replaced.
    await uploadFullSet(driver);
    expect((await driverRow(driver.id))?.onboarding_status).toBe("under_review");
  });

  it("refuses to approve a CNH without the EAR remark or for motorcycles only, changing nothing", async () => {
    const cases: Record<string, string>[] = [{ "x-cnh-ear": "false" }, { "x-cnh-category": "A" }];
    for (const cnh of cases) {
      const driver = await driverWithVehicle();
      await uploadFullSet(driver, cnh);
      const ops = await createStaff("ops");
      const before = await driverRow(driver.id);
      const refused = await review(ops, driver.id, "approve");
      expectProblem(refused, 409, "driver_documents_incomplete");
      expect(refused.json.detail).toContain("cnh");
      expect(await driverRow(driver.id)).toEqual(before);
      expect(await auditOf(driver.id)).toEqual([]);
    }
  });

  it("staff without drivers:review cannot review; a driver cannot approve himself", async () => {
    const driver = await driverWithVehicle();
    await uploadFullSet(driver);
    const finance = await createStaff("finance");
    expectProblem(await review(finance, driver.id, "approve"), 403, "forbidden");
    expectProblem(await review(driver, driver.id, "approve"), 403, "forbidden");
    expect((await driverRow(driver.id))?.onboarding_status).toBe("under_review");
  });
});

describe("suspension", () => {
  it("takes an idle driver offline at once; he cannot go online until reinstated", async () => {
    const { driver, ops } = await approvedOnline();
    const suspended = await review(ops, driver.id, "suspend", { reason: "complaints under investigation" });
    expect(suspended.json).toMatchObject({
      onboarding_status: "suspended",
      suspended_by: "staff",
      status: "offline",
    });
    expectProblem(await goOnline(driver), 409, "driver_not_approved");
    // A fresh upload does not lift a staff suspension.
    await upload(driver, "selfie");
    expect((await driverRow(driver.id))?.onboarding_status).toBe("suspended");
    expect((await review(ops, driver.id, "approve")).json.onboarding_status).toBe("approved");
    expect((await goOnline(driver)).status).toBe(200);
  });

  it("never ends a ride: the driver stays online until the ride ends, then goes offline", async () => {
    const { driver, ops } = await approvedOnline();
    const { passenger, ride } = await requestedRide();
    const accepted = await postRide(driver.accessToken, ride.id, "accept");
    expect(accepted.status, accepted.text).toBe(200);

    await review(ops, driver.id, "suspend", { reason: "complaints under investigation" });
    expect(await driverRow(driver.id)).toMatchObject({ onboarding_status: "suspended", status: "online" });
    const arrived = await postRide(driver.accessToken, ride.id, "arrive");
    expect(arrived.status, arrived.text).toBe(200);

    const cancelled = await postRide(passenger.accessToken, ride.id, "cancel", { reason: "changed plans" });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect((await driverRow(driver.id))?.status).toBe("offline");
    expectProblem(await goOnline(driver), 409, "driver_not_approved");
  });
});

describe("expiry (the daily cron)", () => {
  it("suspends the day after the CNH expired, not on its last day; the driver cannot go online", async () => {
    const driver = await driverWithVehicle();
    const cnhExpires = inDays(3);
    await uploadFullSet(driver, { "x-document-expires-on": cnhExpires });
    const ops = await createStaff("ops");
    expect((await review(ops, driver.id, "approve")).json.documents_expire_on).toBe(cnhExpires);
    expect((await goOnline(driver)).status).toBe(200);

    // Midnight in São Paulo (03:00 UTC) of the CNH's last valid day: still approved.
    const lastDay = new Date(`${cnhExpires}T03:00:00Z`);
    const onLastDay = await runDriverDocuments(cronContext(lastDay).ctx, lastDay);
    expect(onLastDay.today).toBe(cnhExpires);
    expect((await driverRow(driver.id))?.onboarding_status).toBe("approved");

    // The next midnight: the CNH expired yesterday.
    const dayAfter = new Date(lastDay.getTime() + 86_400_000);
    await runDriverDocuments(cronContext(dayAfter).ctx, dayAfter);
    expect(await driverRow(driver.id)).toMatchObject({
      onboarding_status: "suspended",
      suspended_by: "documents_expired",
      status: "offline",
    });
    expectProblem(await goOnline(driver), 409, "driver_documents_expired");
    expect((await auditOf(driver.id)).at(-1)).toMatchObject({ action: "driver.suspend", actor_id: null });

    // A second run changes nothing more.
    const again = await runDriverDocuments(cronContext(dayAfter).ctx, dayAfter);
    expect(await auditOf(driver.id)).toHaveLength(2);
    expect(again.suspended).toBe(0);

    // A new CNH puts him back under review; staff approve it and he drives again.
    await upload(driver, "cnh", JPEG, { "x-document-expires-on": inDays(400) });
    expect((await driverRow(driver.id))?.onboarding_status).toBe("under_review");
  });

  it("an approved driver whose set expired is refused even before the cron runs", async () => {
    const driver = await driverWithVehicle();
    await env.DB.prepare(
      "UPDATE drivers SET onboarding_status = 'approved', documents_expire_on = ? WHERE user_id = ?",
    )
      .bind(inDays(-1), driver.id)
      .run();
    expectProblem(await goOnline(driver), 409, "driver_documents_expired");
  });

  it("notifies 30, 7 and 1 days before, each once", async () => {
    const driver = await driverWithVehicle();
    const crlvExpires = inDays(40);
    await uploadFullSet(driver);
    await upload(driver, "crlv", JPEG, { "x-document-expires-on": crlvExpires });
    const ops = await createStaff("ops");
    expect((await review(ops, driver.id, "approve")).status).toBe(200);

    const mine = (events: { event: OutgoingEvent; users: readonly unknown[] }[]) =>
      events.filter((e) => e.users.includes(driver.id) && e.event.type === "documents.expiring");
    const at = (daysBefore: number) =>
      new Date(Date.parse(`${crlvExpires}T03:00:00Z`) - daysBefore * 86_400_000);
    const sent: unknown[] = [];
    for (const daysBefore of [31, 30, 30, 20, 7, 1, 1]) {
      const { ctx, events } = cronContext(at(daysBefore));
      await runDriverDocuments(ctx, at(daysBefore));
      sent.push(...mine(events).map((e) => e.event.data));
    }
    expect(sent).toEqual([
      expect.objectContaining({ kind: "crlv", expires_on: crlvExpires, days_left: 30 }),
      expect.objectContaining({ kind: "crlv", days_left: 7 }),
      expect.objectContaining({ kind: "crlv", days_left: 1 }),
    ]);
  });
});

async function documentRows(id: string) {
  const { results } = await env.DB.prepare(
    "SELECT kind, plate, review_status FROM driver_documents WHERE driver_id = ? ORDER BY id",
  )
    .bind(id)
    .all<{ kind: string; plate: string | null; review_status: string }>();
  return results;
}

const objectCount = async (id: string) =>
  (await env.DOCUMENTS.list({ prefix: `drivers/${id}/` })).objects.length;

const crlv = (driver: TestUser, plate: string) =>
  upload(driver, "crlv", PDF, { "x-vehicle-plate": plate }, "application/pdf");

const putVehicle = (driver: TestUser, plate: string, more: Record<string, string> = {}) =>
  call("PUT", "/v1/drivers/me/vehicle", {
    token: driver.accessToken,
    body: { ...VEHICLE, plate, ...more },
  });

describe("the CRLV states the registered vehicle's plate", () => {
  it("accepts the registered plate written with a dash or in lower case, stored normalised", async () => {
    const driver = await driverWithVehicle();
    for (const plate of ["bra-2e19", "BRA 2E19"]) {
      const reply = await crlv(driver, plate);
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json.document).toMatchObject({ kind: "crlv", plate: "BRA2E19" });
    }
    expect((await documentRows(driver.id)).map((d) => d.plate)).toEqual(["BRA2E19", "BRA2E19"]);
  });

  it("refuses another plate, a missing or malformed one, and a CRLV before any vehicle: nothing stored", async () => {
    const driver = await driverWithVehicle();
    const other = await crlv(driver, "abc-1234");
    expectProblem(other, 422, "document_plate_mismatch");
    expect(other.json.errors).toEqual([
      { path: "x-vehicle-plate", message: expect.stringContaining("ABC1234") },
    ]);
    const none = await call("PUT", "/v1/drivers/me/documents/crlv", {
      token: driver.accessToken,
      raw: PDF,
      headers: {
        "content-type": "application/pdf",
        "x-document-number": "00123456789",
        "x-document-expires-on": inDays(200),
      },
    });
    expectProblem(none, 400, "validation_failed");
    expect(none.json.errors[0].path).toBe("x-vehicle-plate");
    expectProblem(await crlv(driver, "BRA2E1"), 400, "validation_failed");
    expect(await documentRows(driver.id)).toEqual([]);
    expect(await objectCount(driver.id)).toBe(0);

    const carless = await registerUser("driver");
    expectProblem(await crlv(carless, "BRA2E19"), 409, "vehicle_required");
    expectProblem(await upload(carless, "vehicle_photo"), 409, "vehicle_required");
    expect(await documentRows(carless.id)).toEqual([]);
    expect(await objectCount(carless.id)).toBe(0);
    // The other kinds need no vehicle, and a plate sent with them is not stored.
    const selfie = await upload(carless, "selfie", JPEG, { "x-vehicle-plate": "BRA2E19" });
    expect(selfie.status, selfie.text).toBe(201);
    expect(selfie.json.document.plate).toBeNull();
  });
});

describe("changing the vehicle", () => {
  it("sends an approved driver offline and back to documents until the new vehicle's are approved", async () => {
    const { driver, ops } = await approvedOnline();
    const changed = await putVehicle(driver, "xyz-9a87", { model: "HB20" });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.json).toMatchObject({ status: "offline", vehicle: { plate: "XYZ9A87", model: "HB20" } });
    expect(await driverRow(driver.id)).toMatchObject({
      status: "offline",
      onboarding_status: "pending_documents",
      documents_expire_on: null,
    });
    expect((await auditOf(driver.id)).at(-1)).toMatchObject({
      action: "driver.vehicle_changed",
      actor_id: driver.id,
      before: { onboarding_status: "approved" },
      after: { onboarding_status: "pending_documents" },
    });
    // Out of the driver index too: a ping is refused as from an offline driver.
    const ping = await call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: SE });
    expectProblem(ping, 409, "driver_offline");

    const refused = await goOnline(driver);
    expectProblem(refused, 409, "driver_not_approved");
    expect(refused.json.detail).toContain("vehicle changed");
    // The old vehicle's CRLV and photo no longer count.
    const mine = await call("GET", "/v1/drivers/me/documents", { token: driver.accessToken });
    expect(mine.json).toMatchObject({
      onboarding_status: "pending_documents",
      missing: ["crlv", "vehicle_photo"],
    });
    // Staff cannot approve the old vehicle's set, and its CRLV cannot be uploaded again for the new one.
    expectProblem(await review(ops, driver.id, "approve"), 409, "onboarding_transition_invalid");
    expectProblem(await crlv(driver, "BRA2E19"), 422, "document_plate_mismatch");
    await upload(driver, "selfie");
    expect((await driverRow(driver.id))?.onboarding_status).toBe("pending_documents");

    const renewed = await crlv(driver, "XYZ9A87");
    expect(renewed.status, renewed.text).toBe(201);
    expect(renewed.json.onboarding_status).toBe("pending_documents");
    const photo = await upload(driver, "vehicle_photo");
    expect(photo.json).toMatchObject({ document: { plate: "XYZ9A87" }, onboarding_status: "under_review" });
    expectProblem(await goOnline(driver), 409, "driver_not_approved");
    const approved = await review(ops, driver.id, "approve");
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json).toMatchObject({ onboarding_status: "approved", problems: [] });
    const online = await goOnline(driver);
    expect(online.status, online.text).toBe(200);
    expect(online.json).toMatchObject({ status: "online", vehicle: { plate: "XYZ9A87" } });
  });

  it("keeps an approved driver approved and online when the plate is the same", async () => {
    const { driver } = await approvedOnline();
    const audits = (await auditOf(driver.id)).length;
    const corrected = await putVehicle(driver, "bra-2e19", { color: "Preto", model: "Onix Plus" });
    expect(corrected.status, corrected.text).toBe(200);
    expect(corrected.json).toMatchObject({ status: "online", vehicle: { plate: "BRA2E19", color: "Preto" } });
    expect(await driverRow(driver.id)).toMatchObject({ status: "online", onboarding_status: "approved" });
    expect(await auditOf(driver.id)).toHaveLength(audits);
    const ping = await call("POST", "/v1/drivers/me/location", { token: driver.accessToken, body: SE });
    expect(ping.status, ping.text).toBe(202);
  });

  it("is refused during an active ride, which goes on unaffected", async () => {
    const { driver } = await approvedOnline();
    const { ride } = await requestedRide();
    expect((await postRide(driver.accessToken, ride.id, "accept")).status).toBe(200);
    const before = await driverRow(driver.id);
    expectProblem(await putVehicle(driver, "XYZ9A87"), 409, "driver_has_active_ride");
    expect(await driverRow(driver.id)).toEqual(before);
    const arrived = await postRide(driver.accessToken, ride.id, "arrive");
    expect(arrived.status, arrived.text).toBe(200);
  });

  it("takes a driver under review back to documents: the old vehicle's set cannot be approved", async () => {
    const driver = await driverWithVehicle();
    await uploadFullSet(driver);
    expect((await driverRow(driver.id))?.onboarding_status).toBe("under_review");
    expect((await putVehicle(driver, "XYZ9A87")).status).toBe(200);
    expect((await driverRow(driver.id))?.onboarding_status).toBe("pending_documents");
    const ops = await createStaff("ops");
    expectProblem(await review(ops, driver.id, "approve"), 409, "onboarding_transition_invalid");
    await crlv(driver, "XYZ9A87");
    expect((await upload(driver, "vehicle_photo")).json.onboarding_status).toBe("under_review");
    expect((await review(ops, driver.id, "approve")).status).toBe(200);
  });

  it("never lifts a staff suspension; staff cannot reinstate him onto a vehicle they have not seen", async () => {
    const { driver, ops } = await approvedOnline();
    await review(ops, driver.id, "suspend", { reason: "complaints under investigation" });
    expect((await putVehicle(driver, "XYZ9A87")).status).toBe(200);
    expect(await driverRow(driver.id)).toMatchObject({
      onboarding_status: "suspended",
      suspended_by: "staff",
    });
    const refused = await review(ops, driver.id, "approve");
    expectProblem(refused, 409, "driver_documents_incomplete");
    expect(refused.json.detail).toContain("crlv: not of the registered vehicle");
    expect(refused.json.detail).toContain("vehicle_photo: not of the registered vehicle");
    expect((await driverRow(driver.id))?.onboarding_status).toBe("suspended");
    expect((await crlv(driver, "XYZ9A87")).json.onboarding_status).toBe("suspended");
    expect((await upload(driver, "vehicle_photo")).json.onboarding_status).toBe("suspended");
    expect((await review(ops, driver.id, "approve")).json.onboarding_status).toBe("approved");
    expect((await goOnline(driver)).status).toBe(200);
  });
});
