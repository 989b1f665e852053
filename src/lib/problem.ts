import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The closed list of problem codes the API can answer with, and the HTTP status of each.
 * Routes document their errors from this list, so the OpenAPI text cannot name a code
 * that does not exist.
 */
export const PROBLEMS = {
  validation_failed: { status: 400, title: "The request is not valid" },
  malformed_json: { status: 400, title: "The body is not valid JSON" },
  weak_password: { status: 400, title: "The password is too weak" },
  authentication_required: { status: 401, title: "Authentication is required" },
  invalid_token: { status: 401, title: "The access token is not valid" },
  token_expired: { status: 401, title: "The access token has expired" },
  invalid_credentials: { status: 401, title: "Email or password is wrong" },
  refresh_token_invalid: { status: 401, title: "The refresh token is not valid" },
  refresh_token_reused: { status: 401, title: "The refresh token was already used" },
  forbidden: { status: 403, title: "You may not do this" },
  user_blocked: { status: 403, title: "This account is blocked" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  idempotency_key_required: { status: 400, title: "An Idempotency-Key header is required" },
  outside_service_area: { status: 422, title: "The location is outside our service area" },
  category_not_offered: { status: 422, title: "The category is not offered there" },
  payment_method_not_offered: { status: 422, title: "The payment method is not offered there" },
  quote_not_found: { status: 404, title: "The quote does not exist" },
  quote_expired: { status: 409, title: "The quote has expired" },
  quote_mismatch: { status: 422, title: "The quote was given for another trip" },
  idempotency_key_reused: { status: 422, title: "The Idempotency-Key was used with another request" },
  idempotency_in_progress: { status: 409, title: "A request with this Idempotency-Key is in progress" },
  registration_conflict: { status: 409, title: "An account cannot be created with these details" },
  passenger_has_active_ride: { status: 409, title: "The passenger already has an active ride" },
  outstanding_cancellation_fee: { status: 409, title: "A cancellation fee is still unpaid" },
  driver_has_active_ride: { status: 409, title: "The driver already has an active ride" },
  ride_already_accepted: { status: 409, title: "Another driver accepted this ride" },
  ride_not_requested: { status: 409, title: "The ride is no longer waiting for a driver" },
  invalid_transition: { status: 409, title: "The ride cannot make that change now" },
  vehicle_required: { status: 409, title: "Register a vehicle first" },
  vehicle_category_mismatch: { status: 409, title: "The vehicle does not serve this category" },
  driver_offline: { status: 409, title: "Go online first" },
  driver_too_far: { status: 409, title: "You are too far from the pickup" },
  driver_position_stale: { status: 409, title: "Your position is too old; send your location" },
  trip_too_far_from_dropoff: { status: 422, title: "The trip cannot end this far from the dropoff" },
  driver_cooldown: { status: 409, title: "Too many cancellations; you cannot go online yet" },
  driver_in_debt: {
    status: 409,
    title: "Your balance is owed to the platform beyond the limit; you cannot go online yet",
  },
  offer_not_open: { status: 409, title: "You have no open offer for this ride" },
  already_rated: { status: 409, title: "You already rated this ride" },
  insufficient_funds: { status: 409, title: "The balance does not cover this amount" },
  driver_credit_insufficient: { status: 409, title: "Top up your prepaid credit to accept rides" },
  payout_below_minimum: { status: 422, title: "The payout is below the minimum amount" },
  invalid_pix_key: { status: 422, title: "The Pix key is not valid" },
  // ---- Payout safety: payouts go only to the driver's own registered keys, within limits.
  payout_cpf_required: { status: 409, title: "Register your CPF before your first payout" },
  payout_key_not_owned: { status: 422, title: "The Pix key does not belong to your CPF" },
  payout_key_not_registered: { status: 422, title: "Register this Pix key before paying out to it" },
  payout_key_cooling_down: { status: 409, title: "A newly registered Pix key cannot receive payouts yet" },
  payout_daily_limit: { status: 409, title: "The daily payout limit would be exceeded" },
  payment_not_found: { status: 404, title: "The payment does not exist" },
  payment_not_pending: { status: 409, title: "The payment is no longer awaiting payment" },
  payment_not_pix: { status: 409, title: "Only a Pix charge can be regenerated" },
  topup_amount_out_of_range: { status: 422, title: "The top-up amount is outside the allowed range" },
  payment_provider_unavailable: { status: 503, title: "The payment provider is unavailable" },
  refund_exceeds_paid: { status: 422, title: "The refund is more than what is left to refund" },
  payment_not_refundable: { status: 409, title: "The payment cannot be refunded" },
  refund_in_progress: { status: 409, title: "A refund of this Pix is still awaiting Efí's outcome" },
  card_required: { status: 409, title: "Add a card first" },
  cpf_required: { status: 409, title: "Card payments need the account holder's CPF" },
  payment_not_retryable: { status: 409, title: "Only a failed payment can be retried" },
  driver_not_approved: { status: 409, title: "Your documents have not been approved yet" },
  driver_documents_expired: { status: 409, title: "A document of yours has expired; upload a new one" },
  driver_documents_incomplete: { status: 409, title: "The driver's documents are missing or not acceptable" },
  onboarding_transition_invalid: {
    status: 409,
    title: "The driver's onboarding cannot make that change now",
  },
  unsupported_document_type: { status: 415, title: "Send the document as JPEG, PNG or PDF" },
  document_content_mismatch: { status: 422, title: "The file's content does not match its type" },
  document_plate_mismatch: { status: 422, title: "The CRLV is of another vehicle than the registered one" },
  wallet_not_settled: { status: 409, title: "Money is still held in the wallet" },
  payload_too_large: { status: 413, title: "The body is too large" },
  unsupported_media_type: { status: 415, title: "The body must be application/json" },
  upgrade_required: { status: 426, title: "This route needs a WebSocket upgrade" },
  webhook_malformed: { status: 400, title: "The webhook body is not a notification we understand" },
  webhook_unauthorized: { status: 401, title: "The webhook secret is missing or wrong" },
  webhook_forbidden: { status: 403, title: "The webhook sender is not allowed" },
  // Admin pricing, commission, cities and surge.
  rule_version_conflict: { status: 409, title: "A version with this effective time already exists" },
  rule_already_retired: { status: 409, title: "The version is already retired" },
  rule_in_force_needed: { status: 409, title: "Retiring this version would leave no version in force" },
  city_exists: { status: 409, title: "A city with this id already exists" },
  rate_limited: { status: 429, title: "Too many requests" },
  internal_error: { status: 500, title: "Internal error" },
  misconfigured: { status: 503, title: "The service is misconfigured" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  request_id?: string;
  errors?: FieldError[];
  /** Seconds until the refused action may succeed (also sent as `Retry-After`). */
  retry_after?: number;
}

export function statusOf(code: ProblemCode): ContentfulStatusCode {
  return PROBLEMS[code].status;
}

/** The one error class services and routes throw; `onError` turns it into a problem document. */
export class ApiError extends Error {
  readonly code: ProblemCode;
  readonly errors?: FieldError[];
  readonly headers?: Record<string, string>;
  readonly retryAfter?: number;

  /** `retryAfter` (seconds) goes in the body as `retry_after` and in a `Retry-After` header. */
  constructor(
    code: ProblemCode,
    detail?: string,
    options: { errors?: FieldError[]; headers?: Record<string, string>; retryAfter?: number } = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.name = "ApiError";
    this.code = code;
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
    this.headers =
      options.retryAfter === undefined
        ? options.headers
        : { ...options.headers, "retry-after": String(options.retryAfter) };
  }

  get status(): ContentfulStatusCode {
    return statusOf(this.code);
  }
}

export function problemDocument(
  code: ProblemCode,
  detail: string,
  extra: { requestId?: string; errors?: FieldError[]; retryAfter?: number } = {},
): ProblemDocument {
  const { status, title } = PROBLEMS[code];
  return {
    type: `/problems/${code}`,
    title,
    status,
    detail,
    code,
    ...(extra.requestId ? { request_id: extra.requestId } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
    ...(extra.retryAfter !== undefined ? { retry_after: extra.retryAfter } : {}),
  };
}

export function problemResponse(doc: ProblemDocument, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(doc), {
    status: doc.status,
    headers: { "content-type": "application/problem+json", ...headers },
  });
}

/** The problem code Hono's own HTTPExceptions map to, by status. */
export function codeForStatus(status: number): ProblemCode {
  switch (status) {
    case 400:
      return "validation_failed";
    case 401:
      return "authentication_required";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 426:
      return "upgrade_required";
    case 429:
      return "rate_limited";
    default:
      return "internal_error";
  }
}
