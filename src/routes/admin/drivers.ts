import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requirePermission } from "../../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../../http/router";
import { PageQuerySchema } from "../../lib/pagination";
import {
  getDriverForReview,
  listDrivers,
  readDocumentFile,
  reviewDriver,
} from "../../services/drivers/onboarding-review";
import { DocumentSchema, OnboardingStatusSchema } from "../document-schemas";
import { IdParamSchema } from "../schemas";

const DriverSummarySchema = z
  .object({
    user_id: z.string(),
    name: z.string(),
    onboarding_status: OnboardingStatusSchema,
    onboarding_reason: z.string().nullable(),
    suspended_by: z.enum(["documents_expired", "staff"]).nullable(),
    documents_expire_on: z.string().nullable(),
    status: z.enum(["offline", "online"]),
    onboarding_changed_at: z.string().nullable(),
  })
  .openapi("DriverOnboardingSummary");

const DriverReviewSchema = DriverSummarySchema.extend({
  problems: z
    .array(z.string())
    .openapi({ description: "Why the newest set cannot be approved today; empty when it can" }),
  documents: z.array(DocumentSchema).openapi({ description: "Every upload, newest first" }),
}).openapi("DriverReview");

const list = createRoute({
  tags: ["Admin"],
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("drivers:review")] as const,
  method: "get",
  path: "/",
  operationId: "listDriversForReview",
  summary: "Drivers by onboarding status",
  description:
    "Staff with `drivers:review`. Newest account first, cursor-paginated; `status` filters (e.g. `under_review`).",
  request: { query: PageQuerySchema.extend({ status: OnboardingStatusSchema.optional() }) },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(DriverSummarySchema), next_cursor: z.string().nullable() }),
      "A page of drivers",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

const getOne = createRoute({
  tags: ["Admin"],
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("drivers:review")] as const,
  method: "get",
  path: "/{id}",
  operationId: "getDriverForReview",
  summary: "A driver's onboarding, with every document",
  description: "Staff with `drivers:review`; read only.",
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(DriverReviewSchema, "The driver"),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed", "not_found"),
  },
});

const file = createRoute({
  tags: ["Admin"],
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("drivers:review")] as const,
  method: "get",
  path: "/documents/{id}/file",
  operationId: "getDriverDocumentFile",
  summary: "The file of a driver's document",
  description: "Staff with `drivers:review`. Streams the stored file as an attachment, never cached.",
  request: { params: IdParamSchema },
  responses: {
    200: {
      description: "The file",
      content: Object.fromEntries(
        ["image/jpeg", "image/png", "application/pdf"].map((type) => [
          type,
          { schema: z.string().openapi({ type: "string", format: "binary" }) },
        ]),
      ),
    },
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed", "not_found"),
  },
});

const ReasonSchema = z.object({ reason: z.string().trim().min(3).max(500) }).openapi("OnboardingReason");

const SUMMARY = {
  approve: "Approve the driver's documents",
  reject: "Reject the driver's documents, with a reason",
  suspend: "Suspend the driver, with a reason",
};

const DESCRIPTION = {
  approve:
    "Staff with `drivers:review`. From `under_review`, `suspended` (reinstates) or `approved` (approves a pending renewal); the newest set must be complete and unexpired, with a CNH carrying EAR and a car category (`409 driver_documents_incomplete`). Audited with before and after.",
  reject:
    "Staff with `drivers:review`. From `under_review` only; the newest documents are marked rejected and the driver uploads new ones. Audited with before and after.",
  suspend:
    "Staff with `drivers:review`. From `approved`, `under_review` or `suspended`. The driver goes offline at once or, when on a ride, as soon as that ride ends. Audited with before and after.",
};

const approve = createRoute({
  tags: ["Admin"],
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, requirePermission("drivers:review")] as const,
  method: "post",
  path: "/{id}/approve",
  operationId: "approveDriver",
  summary: SUMMARY.approve,
  description: DESCRIPTION.approve,
  request: { params: IdParamSchema },
  responses: {
    200: jsonContent(DriverReviewSchema, "The driver after the decision"),
    ...problemResponses(
      ...AUTH_PROBLEMS,
      ...BODY_PROBLEMS,
      "forbidden",
      "not_found",
      "onboarding_transition_invalid",
      "driver_documents_incomplete",
    ),
  },
});

const withReason = (action: "reject" | "suspend") =>
  createRoute({
    tags: ["Admin"],
    security: [{ bearerAuth: [] }],
    middleware: [requireAuth, requirePermission("drivers:review")] as const,
    method: "post",
    path: `/{id}/${action}`,
    operationId: `${action}Driver`,
    summary: SUMMARY[action],
    description: DESCRIPTION[action],
    request: { params: IdParamSchema, ...jsonBody(ReasonSchema) },
    responses: {
      200: jsonContent(DriverReviewSchema, "The driver after the decision"),
      ...problemResponses(
        ...AUTH_PROBLEMS,
        ...BODY_PROBLEMS,
        "forbidden",
        "not_found",
        "onboarding_transition_invalid",
      ),
    },
  });

export const adminDriverRoutes = createRouter()
  .openapi(list, async (c) => {
    const { status, ...page } = c.req.valid("query");
    return c.json(await listDrivers(c.get("ctx"), status, page), 200);
  })
  .openapi(file, async (c) => {
    const { row, body } = await readDocumentFile(c.get("ctx"), c.req.valid("param").id);
    const extension =
      row.contentType === "application/pdf" ? "pdf" : row.contentType === "image/png" ? "png" : "jpg";
    return new Response(body, {
      status: 200,
      headers: {
        "content-type": row.contentType,
        "content-length": String(row.sizeBytes),
        "content-disposition": `attachment; filename="${row.kind}-${row.id}.${extension}"`,
        "cache-control": "private, no-store",
      },
    }) as never;
  })
  .openapi(getOne, async (c) => c.json(await getDriverForReview(c.get("ctx"), c.req.valid("param").id), 200))
  .openapi(approve, async (c) => {
    const id = c.req.valid("param").id;
    return c.json(await reviewDriver(c.get("ctx"), c.get("user"), id, "approve"), 200);
  })
  .openapi(withReason("reject"), async (c) => {
    const { id } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    return c.json(await reviewDriver(c.get("ctx"), c.get("user"), id, "reject", reason), 200);
  })
  .openapi(withReason("suspend"), async (c) => {
    const { id } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    return c.json(await reviewDriver(c.get("ctx"), c.get("user"), id, "suspend", reason), 200);
  });
