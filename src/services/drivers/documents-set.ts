import { DOCUMENT_KINDS, type DocumentKind, type driverDocuments } from "../../db/schema";

// Whether a driver's newest documents make a set staff can review and approve.

export type DocumentRow = typeof driverDocuments.$inferSelect;

/** Kinds whose validity ends: their expiry date is required and checked. */
export const KINDS_WITH_EXPIRY: readonly DocumentKind[] = ["cnh", "crlv", "criminal_record"];

/** The newest upload of each kind (ids are time-sortable). */
export function latestByKind(rows: readonly DocumentRow[]): Map<DocumentKind, DocumentRow> {
  const latest = new Map<DocumentKind, DocumentRow>();
  for (const row of rows) {
    const seen = latest.get(row.kind);
    if (!seen || row.id > seen.id) latest.set(row.kind, row);
  }
  return latest;
}

/**
 * Kinds that are of one vehicle, recorded with its plate: the CRLV states it (checked against the
 * registered vehicle's), the vehicle photo is stamped with the vehicle registered when it came.
 */
export const VEHICLE_KINDS: readonly DocumentKind[] = ["crlv", "vehicle_photo"];

/**
 * The document is of the registered vehicle. One of another plate (the vehicle was changed since)
 * or with none (uploaded before documents recorded it) counts as missing: the vehicle that drives
 * must be the one whose CRLV and photo staff approved.
 */
export function isOfVehicle(row: DocumentRow | undefined, vehiclePlate: string | null): boolean {
  return row !== undefined && row.plate !== null && row.plate === vehiclePlate;
}

/** The kinds the driver still has to upload: none yet, or a CRLV or photo of another vehicle. */
export function missingKinds(latest: Map<DocumentKind, DocumentRow>, vehiclePlate: string | null) {
  return DOCUMENT_KINDS.filter(
    (kind) =>
      !latest.has(kind) || (VEHICLE_KINDS.includes(kind) && !isOfVehicle(latest.get(kind), vehiclePlate)),
  );
}

/**
 * Every kind has a newest upload that staff have not rejected, the CRLV and photo of the
 * registered vehicle: the set can be reviewed.
 */
export function isSubmittedSet(latest: Map<DocumentKind, DocumentRow>, vehiclePlate: string | null): boolean {
  if (missingKinds(latest, vehiclePlate).length > 0) return false;
  return DOCUMENT_KINDS.every((kind) => latest.get(kind)?.reviewStatus !== "rejected");
}

/** Why the newest set cannot be approved on `today` (São Paulo date); empty when it can. */
export function setProblems(
  latest: Map<DocumentKind, DocumentRow>,
  today: string,
  vehiclePlate: string | null,
): string[] {
  const problems: string[] = [];
  for (const kind of DOCUMENT_KINDS) {
    const row = latest.get(kind);
    if (!row) problems.push(`${kind}: missing`);
    else if (row.reviewStatus === "rejected") problems.push(`${kind}: rejected, a new upload is needed`);
    else if (VEHICLE_KINDS.includes(kind) && !isOfVehicle(row, vehiclePlate)) {
      problems.push(
        vehiclePlate
          ? `${kind}: not of the registered vehicle, a new upload is needed`
          : `${kind}: no vehicle is registered`,
      );
    } else if (KINDS_WITH_EXPIRY.includes(kind) && (!row.expiresOn || row.expiresOn < today)) {
      problems.push(`${kind}: expired`);
    }
  }
  const cnh = latest.get("cnh");
  if (cnh && cnh.cnhEar !== true) problems.push("cnh: lacks the EAR remark (paid activity)");
  if (cnh && (!cnh.cnhCategory || cnh.cnhCategory === "A"))
    problems.push("cnh: category does not allow a car");
  return problems;
}

/** The day the set stops being valid: the earliest expiry among the kinds that expire. */
export function earliestExpiry(latest: Map<DocumentKind, DocumentRow>): string | null {
  const dates = KINDS_WITH_EXPIRY.map((kind) => latest.get(kind)?.expiresOn).filter((d): d is string => !!d);
  return dates.sort()[0] ?? null;
}
