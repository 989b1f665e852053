import { z } from "zod";

/** Close codes for refused or broken sockets (4000–4999 is the application range). */
export const CLOSE_CODES = {
  invalidFrame: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  notFound: 4404,
} as const;

/** The only frames a client may send; the text "ping" is answered "pong" without waking us. */
export const ClientFrameSchema = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("location"),
    lat: z.number().min(-90).max(90),
    lng: z.number().min(-180).max(180),
    heading: z.number().min(0).max(360).optional(),
    speed: z.number().min(0).max(100).optional(),
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** Identity of a socket, kept across hibernation with serializeAttachment. */
export interface SocketIdentity {
  userId: string;
  role: string;
}

/** Headers the Worker sets when it forwards an authenticated upgrade to an object. */
export const IDENTITY_HEADERS = { userId: "x-mobility-user-id", role: "x-mobility-user-role" } as const;

export function eventId(scope: string, seq: number): string {
  return `evt_${scope}_${seq}`;
}

export function parseSince(url: string): number {
  const since = Number(new URL(url).searchParams.get("since"));
  return Number.isInteger(since) && since > 0 ? since : 0;
}
