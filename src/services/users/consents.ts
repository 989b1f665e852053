import { desc, eq } from "drizzle-orm";
import { consents } from "../../db/schema";
import { newId } from "../../lib/ids";
import type { ServiceContext } from "../context";

/**
 * The versions of the terms of use and the privacy policy the apps show now. A client that
 * names no version at registration accepted these (older apps show the current text too).
 * Publishing a new text means a new version here; `POST /v1/me/consents` records acceptance.
 */
export const CURRENT_VERSIONS = { terms: "2026-01", privacy: "2026-01" } as const;

export type ConsentDocument = keyof typeof CURRENT_VERSIONS;

export interface ConsentView {
  document: ConsentDocument;
  version: string;
  accepted_at: string;
}

/** The inserts recording acceptance of the given versions (current ones by default), to batch. */
export function consentInserts(
  ctx: ServiceContext,
  userId: string,
  at: Date,
  versions: Partial<Record<ConsentDocument, string>> = {},
) {
  return (Object.keys(CURRENT_VERSIONS) as ConsentDocument[]).map((document, i) =>
    ctx.db.insert(consents).values({
      id: newId("cns", at.getTime() + i),
      userId,
      document,
      version: versions[document] ?? CURRENT_VERSIONS[document],
      acceptedAt: at.toISOString(),
    }),
  );
}

/** Records a new acceptance of one document's version; every acceptance is kept. */
export async function recordConsent(
  ctx: ServiceContext,
  userId: string,
  input: { document: ConsentDocument; version: string },
): Promise<ConsentView> {
  const at = ctx.now();
  await ctx.db.insert(consents).values({
    id: newId("cns", at.getTime()),
    userId,
    document: input.document,
    version: input.version,
    acceptedAt: at.toISOString(),
  });
  return { document: input.document, version: input.version, accepted_at: at.toISOString() };
}

/** Every acceptance of the user, newest first. */
export async function listConsents(ctx: ServiceContext, userId: string): Promise<ConsentView[]> {
  const rows = await ctx.db
    .select()
    .from(consents)
    .where(eq(consents.userId, userId))
    .orderBy(desc(consents.id))
    .all();
  return rows.map((r) => ({ document: r.document, version: r.version, accepted_at: r.acceptedAt }));
}
