import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EXE, inDays, JPEG, PDF, PNG, registerVehicle, upload } from "../document-helpers";
import { call, createStaff, expectProblem, registerUser } from "../helpers";

async function documentCount(driverId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM driver_documents WHERE driver_id = ?")
    .bind(driverId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function objectCount(driverId: string) {
  return (await env.DOCUMENTS.list({ prefix: `drivers/${driverId}/` })).objects.length;
}

describe("uploading documents", () => {
  it("stores a JPEG, PNG or PDF whose bytes match its type, in R2 under the driver's id", async () => {
    const driver = await registerUser("driver");
    await registerVehicle(driver); // the vehicle photo is of the registered vehicle
    const cases: [string, Uint8Array, string][] = [
      ["vehicle_photo", JPEG, "image/jpeg"],
      ["selfie", PNG, "image/png"],
      ["criminal_record", PDF, "application/pdf"],
    ];
    for (const [kind, bytes, type] of cases) {
      const reply = await upload(driver, kind, bytes, {}, type);
      expect(reply.status, reply.text).toBe(201);
      expect(reply.json.document).toMatchObject({
        kind,
        review_status: "pending",
        content_type: type,
        size_bytes: bytes.length,
      });
      const row = await env.DB.prepare("SELECT object_key FROM driver_documents WHERE id = ?")
        .bind(reply.json.document.id)
        .first<{ object_key: string }>();
      expect(row?.object_key.startsWith(`drivers/${driver.id}/${kind}/`)).toBe(true);
      const object = await env.DOCUMENTS.get(row?.object_key ?? "");
      expect(new Uint8Array((await object?.arrayBuffer()) ?? new ArrayBuffer(0))).toEqual(bytes);
    }
    const list = await call("GET", "/v1/drivers/me/documents", { token: driver.accessToken });
    expect(list.status, list.text).toBe(200);
    expect(list.json.onboarding_status).toBe("pending_documents");
    expect(list.json.missing.sort()).toEqual(["cnh", "crlv"]);
    expect(list.json.documents).toHaveLength(3);
  });

  it("refuses a renamed .exe sent as image/jpeg, and a mismatch of type and content: nothing stored", async () => {
    const driver = await registerUser("driver");
    expectProblem(await upload(driver, "selfie", EXE, {}, "image/jpeg"), 422, "document_content_mismatch");
    expectProblem(await upload(driver, "selfie", PNG, {}, "image/jpeg"), 422, "document_content_mismatch");
    expectProblem(
      await upload(driver, "crlv", JPEG, {}, "application/pdf"),
      422,
      "document_content_mismatch",
    );
    expectProblem(
      await upload(driver, "selfie", EXE, {}, "application/x-msdownload"),
      415,
      "unsupported_document_type",
    );
    expectProblem(
      await upload(driver, "selfie", JPEG, {}, "application/json"),
      415,
      "unsupported_document_type",
    );
    expect(await documentCount(driver.id)).toBe(0);
    expect(await objectCount(driver.id)).toBe(0);
  });

  it("refuses a file over 5 MiB and an empty file", async () => {
    const driver = await registerUser("driver");
    const big = new Uint8Array(5 * 1024 * 1024 + 1);
    big.set(JPEG);
    expectProblem(await upload(driver, "selfie", big), 413, "payload_too_large");
    expectProblem(await upload(driver, "selfie", new Uint8Array(0)), 400, "validation_failed");
    expect(await documentCount(driver.id)).toBe(0);
  });

  it("requires each kind's metadata and refuses an already expired document", async () => {
    const driver = await registerUser("driver");
    const noNumber = await upload(driver, "cnh", JPEG, { "x-document-number": "" });
    expectProblem(noNumber, 400, "validation_failed");
    const missingEar = await call("PUT", "/v1/drivers/me/documents/cnh", {
      token: driver.accessToken,
      raw: JPEG,
      headers: {
        "content-type": "image/jpeg",
        "x-document-number": "123",
        "x-document-expires-on": inDays(10),
        "x-cnh-category": "B",
      },
    });
    expectProblem(missingEar, 400, "validation_failed");
    expect(missingEar.json.errors[0].path).toBe("x-cnh-ear");
    expectProblem(
      await upload(driver, "crlv", PDF, { "x-document-expires-on": inDays(-1) }, "application/pdf"),
      400,
      "validation_failed",
    );
    expectProblem(
      await upload(driver, "crlv", PDF, { "x-document-expires-on": "2030-13-45" }, "application/pdf"),
      400,
      "validation_failed",
    );
    expectProblem(await upload(driver, "passport", JPEG), 400, "validation_failed");
    expect(await documentCount(driver.id)).toBe(0);
  });

  it("is for drivers only", async () => {
    const passenger = await registerUser("passenger");
    expectProblem(await upload(passenger, "selfie"), 403, "forbidden");
    const anonymous = await call("PUT", "/v1/drivers/me/documents/selfie", {
      raw: JPEG,
      headers: { "content-type": "image/jpeg" },
    });
    expectProblem(anonymous, 401, "authentication_required");
  });
});

describe("another driver's documents", () => {
  it("are unreachable: the key comes from the caller's id, and only staff read files", async () => {
    const owner = await registerUser("driver");
    const other = await registerUser("driver");
    const stored = await upload(owner, "selfie", PNG, {}, "image/png");
    const documentId = stored.json.document.id;

    // The other driver lists only his own, and no driver route takes a document id or key.
    const list = await call("GET", "/v1/drivers/me/documents", { token: other.accessToken });
    expect(list.json.documents).toEqual([]);
    const asDriver = await call("GET", `/v1/admin/drivers/documents/${documentId}/file`, {
      token: other.accessToken,
    });
    expectProblem(asDriver, 403, "forbidden");
    // A path trick in the kind names nothing: it is not a kind.
    const trick = await call(
      "PUT",
      `/v1/drivers/me/documents/${encodeURIComponent(`../${owner.id}/selfie`)}`,
      {
        token: other.accessToken,
        raw: PNG,
        headers: { "content-type": "image/png" },
      },
    );
    expect(trick.status).toBeGreaterThanOrEqual(400);
    expect(trick.status).toBeLessThan(500);
    expect(await objectCount(other.id)).toBe(0);

    // Support staff lack drivers:review; ops has it and gets the very bytes.
    const support = await createStaff("support");
    expectProblem(
      await call("GET", `/v1/admin/drivers/documents/${documentId}/file`, { token: support.accessToken }),
      403,
      "forbidden",
    );
    const ops = await createStaff("ops");
    const response = await (await import("cloudflare:workers")).exports.default.fetch(
      new Request(`http://api.test/v1/admin/drivers/documents/${documentId}/file`, {
        headers: { authorization: `Bearer ${ops.accessToken}` },
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/png");
    expect(response.headers.get("content-disposition")).toContain("attachment");
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(PNG);
    expectProblem(
      await call("GET", "/v1/admin/drivers/documents/doc_NOPE/file", { token: ops.accessToken }),
      404,
      "not_found",
    );
  });
});
