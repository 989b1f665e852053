import { z } from "@hono/zod-openapi";
import { PageQuerySchema } from "../../lib/pagination";
import { CategorySchema } from "../schemas";

/** Why staff make a change: required on every admin write of pricing, commission, cities, surge. */
export const ReasonSchema = z
  .string()
  .trim()
  .min(3, "say why, in at least 3 characters")
  .max(500)
  .openapi({ example: "Fuel prices rose 8 % in March", description: "Why; stored in the audit log" });

export const ReasonBodySchema = z.object({ reason: ReasonSchema }).strict().openapi("ChangeReason");

/** A city id: lowercase letters, digits and underscores, e.g. `sao_paulo`. */
export const CityIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{1,39}$/, "use 2 to 40 lowercase letters, digits or _, starting with a letter")
  .openapi({ example: "sao_paulo" });

export const EffectiveFromSchema = z
  .string()
  .datetime({ offset: true, message: "must be an ISO 8601 date-time" })
  .openapi({
    example: "2027-03-01T03:00:00Z",
    description: "When the version takes effect: now or later (scheduling); omitted means now",
  });

export const RuleListQuerySchema = PageQuerySchema.extend({
  city_id: CityIdSchema.optional(),
  category: CategorySchema.optional(),
});

/** The problems of creating a version, beyond the body's own. */
export const VERSION_CREATE_PROBLEMS = ["forbidden", "rule_version_conflict"] as const;
export const VERSION_RETIRE_PROBLEMS = [
  "forbidden",
  "not_found",
  "rule_already_retired",
  "rule_in_force_needed",
] as const;
