import type { DocumentKind } from "../../db/schema";

/** The largest document file accepted: a phone photo of a document or a scanned PDF fits. */
export const DOCUMENT_MAX_BYTES = 5 * 1024 * 1024;

export const DOCUMENT_CONTENT_TYPES = ["image/jpeg", "image/png", "application/pdf"] as const;
export type DocumentContentType = (typeof DOCUMENT_CONTENT_TYPES)[number];

/** The first bytes each accepted format starts with. */
const MAGIC: Record<DocumentContentType, number[]> = {
  "image/jpeg": [0xff, 0xd8, 0xff],
  "image/png": [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  "application/pdf": [0x25, 0x50, 0x44, 0x46, 0x2d], // %PDF-
};

export const EXTENSION: Record<DocumentContentType, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "application/pdf": "pdf",
};

/** The declared type without parameters, lower-cased, if it is one we accept. */
export function acceptedContentType(header: string | undefined): DocumentContentType | null {
  const type = (header ?? "").split(";")[0]?.trim().toLowerCase();
  return (DOCUMENT_CONTENT_TYPES as readonly string[]).includes(type ?? "")
    ? (type as DocumentContentType)
    : null;
}

/** True when the bytes start with the declared format's signature: the header alone is a claim. */
export function contentMatches(type: DocumentContentType, bytes: Uint8Array): boolean {
  const magic = MAGIC[type];
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

/**
 * Where a document's file lives in R2. Built only from the authenticated driver's id and a
 * server-made document id: no request names a key, so nobody can reach another driver's file.
 */
export function documentObjectKey(driverId: string, kind: DocumentKind, documentId: string): string {
  return `drivers/${driverId}/${kind}/${documentId}`;
}
