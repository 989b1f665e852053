import type { Config } from "../../lib/config";
import type { FcmFetch } from "./access-token";
import { createFcmClient, type PushClient } from "./client";

export type { FcmFetch } from "./access-token";
export type { PushClient, PushMessage, PushResult } from "./client";

/** The push client for this configuration, or null when push is off (no FCM project). */
export function pushClientOf(config: Config, fetchFn: FcmFetch, now: () => Date): PushClient | null {
  if (!config.FCM_PROJECT_ID) return null;
  return createFcmClient({
    projectId: config.FCM_PROJECT_ID,
    baseUrl: config.FCM_BASE_URL,
    account: {
      clientEmail: config.FCM_CLIENT_EMAIL,
      privateKey: config.FCM_PRIVATE_KEY,
      oauthUrl: config.FCM_OAUTH_URL,
    },
    fetch: fetchFn,
    now,
  });
}
