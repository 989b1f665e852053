import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requireEdgeAuth, requireRole } from "../http/auth";
import { AUTH_PROBLEMS, createRouter, jsonContent, problemResponses } from "../http/router";
import { isPlate, normalizePlate } from "../lib/plate";
import { ApiError } from "../lib/problem";
import { CNH_CATEGORIES, listMyDocuments, uploadDocument } from "../services/drivers/documents";
import { DOCUMENT_CONTENT_TYPES, DOCUMENT_MAX_BYTES } from "../services/drivers/documents-files";
import { DocumentKindSchema, DocumentSchema, OnboardingStatusSchema } from "./document-schemas";

// Metadata travels in headers, not the query: URLs end up in request logs, and a CNH number is
// personal data. The body is the file itself, so a phone app sends one request per document.
const UploadHeadersSchema = z.object({
  "x-document-number": z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9./-]{1,40}$/)
    .optional()
    .openapi({ description: "Required for `cnh` (registration number) and `crlv` (RENAVAM)" }),
  "x-document-expires-on": z.iso.date().optional().openapi({
    description: "YYYY-MM-DD; required for `cnh`, `crlv` and `criminal_record`",
    example: "2031-05-20",
  }),
  "x-cnh-ear": z
    .enum(["true", "false"])
    .optional()
    .openapi({ description: "CNH only, required: the licence carries the EAR remark (paid activity)" }),
  "x-cnh-category": z
    .enum(CNH_CATEGORIES)
    .optional()
    .openapi({ description: "CNH only, required; `A` alone (motorcycles) is not accepted for approval" }),
  "x-vehicle-plate": z
    .string()
    .max(10)
    .refine(isPlate, "not a Brazilian plate (ABC1234 or Mercosul ABC1D23)")
    .transform(normalizePlate)
    .optional()
    .openapi({
      description:
        "CRLV only, required: the plate the CRLV states; compared upper case without dash or space with the registered vehicle's (`422 document_plate_mismatch` if another)",
      example: "BRA2E19",
    }),
});

const binary = z.string().openapi({ type: "string", format: "binary" });

const upload = createRoute({
  method: "put",
  path: "/{kind}",
  operationId: "uploadDriverDocument",
  tags: ["Drivers"],
  summary: "Upload one of the driver's documents",
  description: `For drivers. The body is the file, sent with its Content-Type (${DOCUMENT_CONTENT_TYPES.join(", ")}), at most ${DOCUMENT_MAX_BYTES / 1024 / 1024} MiB; the file's first bytes must match that type (\`422 document_content_mismatch\`). Metadata goes in headers. A CRLV or vehicle photo needs a registered vehicle (\`409 vehicle_required\`) and is recorded with its plate; the CRLV must state that plate (\`422 document_plate_mismatch\` otherwise; nothing is stored). After a change of vehicle both count as missing until uploaded again for the new one. A new upload of a kind replaces the older one for review; once every kind is uploaded the driver moves to \`under_review\`. At most 30 uploads an hour.`,
  security: [{ bearerAuth: [] }],
  middleware: [
    requireEdgeAuth,
    requireRole("driver"),
    bodyLimit({
      maxSize: DOCUMENT_MAX_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", `A document may be at most ${DOCUMENT_MAX_BYTES} bytes`);
      },
    }),
  ] as const,
  request: {
    params: z.object({ kind: DocumentKindSchema }),
    headers: UploadHeadersSchema,
    body: {
      required: true,
      content: Object.fromEntries(DOCUMENT_CONTENT_TYPES.map((type) => [type, { schema: binary }])),
    },
  },
  responses: {
    201: jsonContent(
      z.object({ document: DocumentSchema, onboarding_status: OnboardingStatusSchema }),
      "The stored document (pending review) and the driver's onboarding status",
    ),
    ...problemResponses(
      ...AUTH_PROBLEMS,
      "forbidden",
      "validation_failed",
      "payload_too_large",
      "unsupported_document_type",
      "document_content_mismatch",
      "document_plate_mismatch",
      "vehicle_required",
      "rate_limited",
    ),
  },
});

const list = createRoute({
  method: "get",
  path: "/",
  operationId: "listDriverDocuments",
  tags: ["Drivers"],
  summary: "The driver's documents and onboarding status",
  description:
    "For drivers; read only. The newest upload of each kind with its review status, and the kinds still missing (a CRLV or vehicle photo of another vehicle than the registered one counts as missing).",
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth, requireRole("driver")] as const,
  responses: {
    200: jsonContent(
      z
        .object({
          onboarding_status: OnboardingStatusSchema,
          onboarding_reason: z.string().nullable().openapi({ description: "Why rejected or suspended" }),
          documents_expire_on: z
            .string()
            .nullable()
            .openapi({ description: "The approved set is valid through this day" }),
          documents: z.array(DocumentSchema),
          missing: z.array(DocumentKindSchema),
        })
        .openapi("DriverDocuments"),
      "The documents",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden"),
  },
});

export const driverDocumentRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listMyDocuments(c.get("ctx"), c.get("user").id), 200))
  .openapi(upload, async (c) => {
    const headers = c.req.valid("header");
    const reply = await uploadDocument(c.get("ctx"), c.get("user").id, {
      kind: c.req.valid("param").kind,
      contentType: c.req.header("content-type"),
      body: await c.req.arrayBuffer(),
      meta: {
        number: headers["x-document-number"],
        expires_on: headers["x-document-expires-on"],
        cnh_ear: headers["x-cnh-ear"] === undefined ? undefined : headers["x-cnh-ear"] === "true",
        cnh_category: headers["x-cnh-category"],
        plate: headers["x-vehicle-plate"],
      },
    });
    return c.json(reply, 201);
  });
