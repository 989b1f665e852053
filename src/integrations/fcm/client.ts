// Firebase Cloud Messaging HTTP v1: `POST {base}/v1/projects/{project}/messages:send` with
// `{ message: { token, notification: { title, body }, data, android, apns } }` and a bearer
// access token; a success is `{ name: "projects/{project}/messages/{id}" }`. An error is
// `{ error: { code, message, status, details: [{ "@type":
// "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] } }`: 404 `UNREGISTERED`
// means the app instance is gone (drop the token); 400 `INVALID_ARGUMENT` a bad field or token;
// 403 `SENDER_ID_MISMATCH`; 429 `QUOTA_EXCEEDED` and 500/503 `INTERNAL`/`UNAVAILABLE` are
// transient (retry later, honouring `Retry-After` when given).

import {
  accessToken,
  FcmAuthError,
  type FcmFetch,
  forgetAccessToken,
  type ServiceAccount,
} from "./access-token";

export interface PushMessage {
  token: string;
  title: string;
  body: string;
  /** String values only (FCM's rule). */
  data: Record<string, string>;
  /** Replaces an earlier message with the same key on the phone: a resend shows once. */
  collapseKey: string;
}

export type PushResult =
  | { outcome: "sent"; name: string }
  /** The token is dead: the device row should go. */
  | { outcome: "unregistered" }
  /** Refused for a reason a retry will not change (our payload or configuration). */
  | { outcome: "rejected"; status: number; code: string }
  /** Transient: try again later. */
  | { outcome: "retry"; status: number; code: string; retryAfterSeconds?: number };

export interface PushClient {
  send(message: PushMessage): Promise<PushResult>;
}

export interface FcmOptions {
  projectId: string;
  baseUrl: string;
  account: ServiceAccount;
  fetch: FcmFetch;
  now: () => Date;
  timeoutMs?: number;
}

interface FcmErrorBody {
  error?: { status?: string; details?: { "@type"?: string; errorCode?: string }[] };
}

/** FCM's own error code (`details[].errorCode`), else the RPC status. */
function errorCodeOf(text: string): string {
  try {
    const body = JSON.parse(text) as FcmErrorBody;
    const fcm = body.error?.details?.find((d) => d["@type"]?.endsWith("google.firebase.fcm.v1.FcmError"));
    return fcm?.errorCode ?? body.error?.status ?? "UNKNOWN";
  } catch {
    return "UNKNOWN";
  }
}

/** The message name of a success; a body we cannot read is still a success (it was sent). */
function nameOf(text: string): string {
  try {
    const name = (JSON.parse(text) as { name?: unknown }).name;
    return typeof name === "string" ? name : "";
  } catch {
    return "";
  }
}

function retryAfterOf(response: Response): number | undefined {
  const value = Number(response.headers.get("retry-after"));
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

export function createFcmClient(options: FcmOptions): PushClient {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`;

  async function attempt(message: PushMessage, token: string): Promise<Response> {
    return options.fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        message: {
          token: message.token,
          notification: { title: message.title, body: message.body },
          data: message.data,
          android: { priority: "high", collapse_key: message.collapseKey },
          apns: { headers: { "apns-collapse-id": message.collapseKey.slice(0, 64) } },
        },
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  return {
    async send(message) {
      try {
        let token = await accessToken(options.account, options.fetch, options.now, timeoutMs);
        let response = await attempt(message, token);
        if (response.status === 401) {
          // The access token was revoked or expired early: one more try with a fresh one.
          forgetAccessToken(options.account, token);
          token = await accessToken(options.account, options.fetch, options.now, timeoutMs);
          response = await attempt(message, token);
        }
        const text = await response.text();
        if (response.ok) return { outcome: "sent", name: nameOf(text) };
        const code = errorCodeOf(text);
        if (response.status === 404 && code === "UNREGISTERED") return { outcome: "unregistered" };
        if (response.status === 429 || response.status >= 500) {
          return {
            outcome: "retry",
            status: response.status,
            code,
            retryAfterSeconds: retryAfterOf(response),
          };
        }
        return { outcome: "rejected", status: response.status, code };
      } catch (error) {
        // No answer, or no access token: nothing was sent, so a later try is safe.
        const code = error instanceof FcmAuthError ? "oauth_failed" : "no_answer";
        return { outcome: "retry", status: 0, code };
      }
    },
  };
}
