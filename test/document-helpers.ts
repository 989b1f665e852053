import { expect } from "vitest";
import { call, type TestUser } from "./helpers";

export const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 1, 2, 3, 4]);
export const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2]);
export const PDF = new TextEncoder().encode("%PDF-1.7\n%fake but well-started\n");
/** A Windows executable's first bytes ("MZ"). */
export const EXE = new Uint8Array([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00]);

/** A date `days` from today in São Paulo, YYYY-MM-DD. */
export function inDays(days: number, from = new Date()): string {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(from);
  return new Date(Date.parse(`${today}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The plate of the vehicle tests register (`registerVehicle`); the default CRLV states it. */
export const TEST_PLATE = "BRA2E19";

export const VALID_META: Record<string, Record<string, string>> = {
  cnh: {
    "x-document-number": "04512345678",
    "x-document-expires-on": inDays(365),
    "x-cnh-ear": "true",
    "x-cnh-category": "B",
  },
  crlv: {
    "x-document-number": "00123456789",
    "x-document-expires-on": inDays(200),
    "x-vehicle-plate": TEST_PLATE,
  },
  criminal_record: { "x-document-expires-on": inDays(90) },
  vehicle_photo: {},
  selfie: {},
};

export function upload(
  driver: TestUser,
  kind: string,
  body: Uint8Array = JPEG,
  headers: Record<string, string> = {},
  contentType = "image/jpeg",
) {
  return call("PUT", `/v1/drivers/me/documents/${kind}`, {
    token: driver.accessToken,
    raw: body,
    headers: { "content-type": contentType, ...(VALID_META[kind] ?? {}), ...headers },
  });
}

/** Registers (or replaces) the driver's vehicle through the API; a pop car with `plate`. */
export async function registerVehicle(
  driver: TestUser,
  plate = TEST_PLATE,
  more: Record<string, string> = {},
) {
  const reply = await call("PUT", "/v1/drivers/me/vehicle", {
    token: driver.accessToken,
    body: { plate, model: "Onix", color: "Prata", category: "pop", ...more },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json;
}

/**
 * Uploads a complete, valid set (the CNH with `cnh` headers, the CRLV with `crlv` headers, on top
 * of the valid ones). The CRLV needs the vehicle registered first (`registerVehicle`).
 */
export async function uploadFullSet(
  driver: TestUser,
  cnh: Record<string, string> = {},
  crlv: Record<string, string> = {},
) {
  for (const kind of ["cnh", "crlv", "criminal_record", "vehicle_photo", "selfie"]) {
    const reply = await upload(
      driver,
      kind,
      kind === "crlv" ? PDF : JPEG,
      kind === "cnh" ? cnh : kind === "crlv" ? crlv : {},
      kind === "crlv" ? "application/pdf" : "image/jpeg",
    );
    expect(reply.status, reply.text).toBe(201);
  }
}
