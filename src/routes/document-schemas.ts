import { z } from "@hono/zod-openapi";
import { DOCUMENT_KINDS, ONBOARDING_STATUSES } from "../db/schema";

export const DocumentKindSchema = z.enum(DOCUMENT_KINDS).openapi({
  description:
    "`cnh` (driving licence), `crlv` (vehicle licence), `criminal_record`, `vehicle_photo`, `selfie`",
});

export const OnboardingStatusSchema = z.enum(ONBOARDING_STATUSES).openapi({
  description:
    "`pending_documents` → `under_review` (a complete set was uploaded) → `approved`, or `rejected` (with a reason) and `suspended` (expired documents or staff). Only `approved` drivers with unexpired documents may go online.",
});

export const DocumentSchema = z
  .object({
    id: z.string().openapi({ example: "doc_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    kind: DocumentKindSchema,
    review_status: z.enum(["pending", "approved", "rejected"]),
    content_type: z.string(),
    size_bytes: z.number().int(),
    number: z.string().nullable(),
    expires_on: z.string().nullable().openapi({ description: "YYYY-MM-DD; valid through that day" }),
    cnh_ear: z.boolean().nullable().openapi({ description: "CNH only: the EAR (paid activity) remark" }),
    cnh_category: z.string().nullable(),
    plate: z.string().nullable().openapi({
      description: "CRLV: the plate it states; vehicle photo: the vehicle registered when it was uploaded",
    }),
    reviewed_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("DriverDocument");
