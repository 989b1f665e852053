import { desc, eq } from "drizzle-orm";
import { DOCUMENT_KINDS, type DocumentKind, driverDocuments } from "../../db/schema";
import { businessDateOf } from "../../lib/business-days";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { enforceRateLimit } from "../requests/rate-limit";
import {
  acceptedContentType,
  contentMatches,
  DOCUMENT_CONTENT_TYPES,
  DOCUMENT_MAX_BYTES,
  type DocumentContentType,
  documentObjectKey,
} from "./documents-files";
import {
  type DocumentRow,
  isSubmittedSet,
  KINDS_WITH_EXPIRY,
  latestByKind,
  missingKinds,
  VEHICLE_KINDS,
} from "./documents-set";
import { decideOnboarding } from "./onboarding";
import { ensureDriverRow, readOnboarding, transitionStamp, transitionStatement } from "./onboarding-store";

export {
  type DocumentRow,
  earliestExpiry,
  isOfVehicle,
  isSubmittedSet,
  KINDS_WITH_EXPIRY,
  latestByKind,
  missingKinds,
  setProblems,
  VEHICLE_KINDS,
} from "./documents-set";

/** Kinds that carry a number (the CNH's registration, the CRLV's RENAVAM). */
const KINDS_WITH_NUMBER: readonly DocumentKind[] = ["cnh", "crlv"];
/** CNH categories; every one but motorcycle-only `A` allows a car. */
export const CNH_CATEGORIES = ["A", "B", "C", "D", "E", "AB", "AC", "AD", "AE"] as const;

export interface DocumentMetadata {
  number?: string;
  expires_on?: string;
  cnh_ear?: boolean;
  cnh_category?: (typeof CNH_CATEGORIES)[number];
  /** CRLV only: the plate it states, normalised (the route checks its shape). */
  plate?: string;
}

export interface DocumentView {
  id: string;
  kind: DocumentKind;
  review_status: "pending" | "approved" | "rejected";
  content_type: string;
  size_bytes: number;
  number: string | null;
  expires_on: string | null;
  cnh_ear: boolean | null;
  cnh_category: string | null;
  plate: string | null;
  reviewed_at: string | null;
  created_at: string;
}

export function toDocumentView(row: DocumentRow): DocumentView {
  return {
    id: row.id,
    kind: row.kind,
    review_status: row.reviewStatus,
    content_type: row.contentType,
    size_bytes: row.sizeBytes,
    number: row.number,
    expires_on: row.expiresOn,
    cnh_ear: row.cnhEar,
    cnh_category: row.cnhCategory,
    plate: row.plate,
    reviewed_at: row.reviewedAt,
    created_at: row.createdAt,
  };
}

export async function documentRowsOf(ctx: ServiceContext, driverId: string): Promise<DocumentRow[]> {
  return ctx.db
    .select()
    .from(driverDocuments)
    .where(eq(driverDocuments.driverId, driverId))
    .orderBy(desc(driverDocuments.id))
    .all();
}

function invalid(path: string, message: string): never {
  throw new ApiError("validation_failed", `${path}: ${message}`, { errors: [{ path, message }] });
}

/** Kind-specific metadata rules; the route has already checked each header's shape. */
function checkMetadata(kind: DocumentKind, meta: DocumentMetadata, today: string): void {
  if (KINDS_WITH_NUMBER.includes(kind) && !meta.number) invalid("x-document-number", `required for ${kind}`);
  if (kind === "crlv" && !meta.plate) invalid("x-vehicle-plate", "required for crlv");
  if (KINDS_WITH_EXPIRY.includes(kind)) {
    if (!meta.expires_on) invalid("x-document-expires-on", `required for ${kind}`);
    if (meta.expires_on < today) invalid("x-document-expires-on", "the document has already expired");
  }
  if (kind === "cnh") {
    if (meta.cnh_ear === undefined) invalid("x-cnh-ear", "required for cnh");
    if (!meta.cnh_category) invalid("x-cnh-category", "required for cnh");
  }
}

export interface UploadInput {
  kind: DocumentKind;
  contentType: string | undefined;
  body: ArrayBuffer;
  meta: DocumentMetadata;
}

/**
 * Stores one document: checks the declared type against the file's first bytes and the size,
 * writes the file to R2, then its row (and, when the set is now complete, the move to review) in
 * one D1 batch. If D1 fails the file is deleted again, so no object is left without a row.
 */
export async function uploadDocument(ctx: ServiceContext, driverId: string, input: UploadInput) {
  await enforceRateLimit(ctx, "document_upload_user", driverId);
  const type = acceptedContentType(input.contentType);
  if (!type) {
    throw new ApiError(
      "unsupported_document_type",
      `Send the file with Content-Type ${DOCUMENT_CONTENT_TYPES.join(", ")}`,
    );
  }
  const bytes = new Uint8Array(input.body);
  if (bytes.length === 0) invalid("body", "the file is empty");
  if (bytes.length > DOCUMENT_MAX_BYTES) {
    throw new ApiError("payload_too_large", `A document may be at most ${DOCUMENT_MAX_BYTES} bytes`);
  }
  if (!contentMatches(type, bytes)) {
    throw new ApiError("document_content_mismatch", `The file is not a ${type} file`);
  }
  const now = ctx.now();
  const today = businessDateOf(now);
  const meta = normalizedMetadata(input.kind, input.meta);
  checkMetadata(input.kind, meta, today);
  const [state, rows] = await Promise.all([readOnboarding(ctx, driverId), documentRowsOf(ctx, driverId)]);
  if (VEHICLE_KINDS.includes(input.kind)) assertOfVehicle(input.kind, meta.plate, state.vehiclePlate);

  const id = newId("doc", now.getTime());
  const objectKey = documentObjectKey(driverId, input.kind, id);
  const sha256 = await digestHex(bytes);
  await ctx.env.DOCUMENTS.put(objectKey, bytes, {
    httpMetadata: { contentType: type },
    customMetadata: { driver_id: driverId, kind: input.kind },
  });
  const row: DocumentRow = {
    id,
    driverId,
    kind: input.kind,
    objectKey,
    contentType: type,
    sizeBytes: bytes.length,
    sha256,
    number: meta.number ?? null,
    expiresOn: meta.expires_on ?? null,
    cnhEar: meta.cnh_ear ?? null,
    cnhCategory: meta.cnh_category ?? null,
    // The CRLV's stated plate is the vehicle's (checked above); a photo is of the vehicle registered now.
    plate: VEHICLE_KINDS.includes(input.kind) ? state.vehiclePlate : null,
    reviewStatus: "pending",
    reviewedBy: null,
    reviewedAt: null,
    expiryNoticeDays: null,
    createdAt: now.toISOString(),
  };
  try {
    const latest = latestByKind([...rows, row]);
    const decision = isSubmittedSet(latest, state.vehiclePlate)
      ? decideOnboarding(state, { type: "documents_submitted" })
      : null;
    const moves = decision?.ok && decision.next.status !== state.status ? decision.next : null;
    const stamp = transitionStamp(now);
    await ctx.db.batch([
      ensureDriverRow(ctx, driverId, now.toISOString()),
      ctx.db.insert(driverDocuments).values(row),
      ...(moves ? [transitionStatement(ctx, driverId, state, moves, stamp)] : []),
    ]);
    const after = moves ? moves.status : state.status;
    ctx.log.info("driver.document_uploaded", { driver_id: driverId, kind: input.kind, onboarding: after });
    return { document: toDocumentView(row), onboarding_status: after };
  } catch (error) {
    await ctx.env.DOCUMENTS.delete(objectKey).catch(() => undefined);
    throw error;
  }
}

/**
 * A CRLV or vehicle photo is of the registered vehicle: without one there is nothing to tie it to
 * (`409 vehicle_required`), and a CRLV stating another plate is refused (`422
 * document_plate_mismatch`) before anything is stored. The stated plate is the driver's claim;
 * staff compare it with the file when they review.
 */
function assertOfVehicle(kind: DocumentKind, plate: string | undefined, vehiclePlate: string | null): void {
  if (!vehiclePlate) {
    throw new ApiError(
      "vehicle_required",
      `Register the vehicle with PUT /v1/drivers/me/vehicle before uploading its ${kind}`,
    );
  }
  if (kind !== "crlv" || plate === vehiclePlate) return;
  const message = `the CRLV states ${plate}, the registered vehicle is ${vehiclePlate}`;
  throw new ApiError("document_plate_mismatch", `x-vehicle-plate: ${message}`, {
    errors: [{ path: "x-vehicle-plate", message }],
  });
}

/** Each kind keeps only its own metadata: whatever else came with it is not stored. */
function normalizedMetadata(kind: DocumentKind, meta: DocumentMetadata): DocumentMetadata {
  if (kind === "vehicle_photo" || kind === "selfie") return {};
  if (kind === "crlv") return { number: meta.number, expires_on: meta.expires_on, plate: meta.plate };
  if (kind !== "cnh") return { number: meta.number, expires_on: meta.expires_on };
  return { ...meta, plate: undefined };
}

async function digestHex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What the driver sees: his onboarding state, the newest upload of each kind, what is missing. */
export async function listMyDocuments(ctx: ServiceContext, driverId: string) {
  const [state, rows] = await Promise.all([readOnboarding(ctx, driverId), documentRowsOf(ctx, driverId)]);
  const latest = latestByKind(rows);
  return {
    onboarding_status: state.status,
    onboarding_reason: state.reason,
    documents_expire_on: state.documentsExpireOn,
    documents: DOCUMENT_KINDS.flatMap((kind) => {
      const row = latest.get(kind);
      return row ? [toDocumentView(row)] : [];
    }),
    missing: missingKinds(latest, state.vehiclePlate),
  };
}

export type { DocumentContentType };
