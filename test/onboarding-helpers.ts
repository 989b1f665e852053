import { env } from "cloudflare:workers";

/**
 * Makes a driver approved with documents valid through `expireOn`, straight in D1: the quick way
 * for tests whose subject is not onboarding (test/integration/onboarding.test.ts goes through the
 * real flow: uploads and a staff approval). Works before or after the vehicle is registered.
 */
export async function approveDriverInD1(driverId: string, expireOn = "2099-12-31"): Promise<void> {
  const now = new Date().toISOString();
  await env.DB.prepare(
    `INSERT INTO drivers (user_id, updated_at, onboarding_status, documents_expire_on, onboarding_changed_at)
     VALUES (?1, ?2, 'approved', ?3, ?2)
     ON CONFLICT (user_id) DO UPDATE SET onboarding_status = 'approved', documents_expire_on = ?3,
       onboarding_reason = NULL, suspended_by = NULL, onboarding_changed_at = ?2`,
  )
    .bind(driverId, now, expireOn)
    .run();
}
