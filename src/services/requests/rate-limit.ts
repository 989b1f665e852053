import type { Config } from "../../lib/config";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import type { RateFamily, RateRule } from "./rate-limiter-port";

/**
 * The limits. Registration allows 20 per IP an hour, not fewer: mobile carriers in Brazil put
 * many subscribers behind one address (CGNAT), and each registration costs one PBKDF2 hash.
 */
export function rateRuleOf(config: Config, family: RateFamily): RateRule {
  switch (family) {
    case "register_ip":
      return { limit: 20, windowSeconds: 3600 };
    case "login_ip":
      return { limit: config.LOGIN_MAX_ATTEMPTS_PER_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS };
    case "login_failures":
      return { limit: config.LOGIN_MAX_FAILURES_PER_ACCOUNT_IP, windowSeconds: config.LOGIN_WINDOW_SECONDS };
    case "quote_user":
      return { limit: 60, windowSeconds: 60 };
    case "ride_request_user":
      return { limit: 10, windowSeconds: 600 };
    case "ride_cancel_user":
      return { limit: 10, windowSeconds: 3600 };
    // Each upload is an R2 write of up to 5 MiB; a full set is five, a few retries fit easily.
    case "document_upload_user":
      return { limit: 30, windowSeconds: 3600 };
    // An export reads everything the user has: a few a day is all a person needs.
    case "data_export_user":
      return { limit: 5, windowSeconds: 86400 };
  }
}

const WHAT: Record<RateFamily, string> = {
  register_ip: "registrations from this address",
  login_ip: "sign-in attempts from this address",
  login_failures: "failed sign-ins to this account from this address",
  quote_user: "quotes",
  ride_request_user: "ride requests",
  ride_cancel_user: "cancellations",
  document_upload_user: "document uploads",
  data_export_user: "data exports",
};

/** `429 rate_limited` with `Retry-After`, the one answer of every limit. */
export function rateLimited(retryAfter: number, what: string): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfter));
  return new ApiError("rate_limited", `Too many ${what}; try again in ${seconds} s`, {
    headers: { "retry-after": String(seconds) },
  });
}

/** Counts one hit of the family for the subject, or throws `429 rate_limited` past its limit. */
export async function enforceRateLimit(
  ctx: ServiceContext,
  family: RateFamily,
  subject: string,
): Promise<void> {
  const verdict = await ctx.limits(family, subject).hit(rateRuleOf(ctx.config, family), ctx.now().getTime());
  if (!verdict.allowed) throw rateLimited(verdict.retryAfter, WHAT[family]);
}

export function resetRateLimit(ctx: ServiceContext, family: RateFamily, subject: string): Promise<void> {
  return ctx.limits(family, subject).reset();
}
