import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../../http/env";
import { createRouter, jsonContent, problemResponses } from "../../http/router";
import { EfiError } from "../../integrations/efi/errors";
import { ApiError } from "../../lib/problem";
import { applyCardNotification } from "../../services/payments/card/reconcile";
import { ingestEfiNotification, verifyEfiSender } from "../../services/webhooks/ingest";

/** Efí's notifications are small; the same ceiling as the API's JSON bodies. */
export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;

const ReceiptSchema = z
  .object({
    received: z.number().int().openapi({ description: "Items kept from this notification" }),
    stored: z.number().int().openapi({ description: "Of those, the ones seen for the first time" }),
  })
  .openapi("EfiWebhookReceipt");

const QuerySchema = z.object({
  hmac: z.string().optional().openapi({ description: "The shared secret of the registered URL" }),
  ignorar: z
    .string()
    .optional()
    .openapi({ description: "Ignored: where Efí's appended `/pix` lands (`?hmac=…&ignorar=/pix`)" }),
});

const description =
  "Called by Efí, not by clients. Efí's Pix notification, `{\"pix\": [ … ]}` as Efí sends it: received Pix, refunds of them (`devolucoes`), and results of our Pix sends (`gnExtras.idEnvio`). Authenticated by the `hmac` query secret (constant-time) and, when `EFI_WEBHOOK_ALLOWED_IPS` is set, the sender address. Every item is validated before any is stored (one bad item: 400, nothing stored); each is stored once (by end-to-end id, kind and refund id) and queued for the payments consumer, which confirms it against Efí before money moves. Answered 200 at once, also for a duplicate. The registered URL is `/webhooks/efi/pix?hmac=<secret>&ignorar=`, so Efí's `/pix` suffix lands in `ignorar`; `/webhooks/efi` is accepted as well.";

const responses = {
  200: jsonContent(ReceiptSchema, "Accepted (stored and queued, or already known)"),
  ...problemResponses(
    "webhook_malformed",
    "validation_failed",
    "webhook_unauthorized",
    "webhook_forbidden",
    "payload_too_large",
  ),
};

const notification = (path: string, operationId: string) =>
  createRoute({
    method: "post",
    path,
    operationId,
    tags: ["Webhooks"],
    summary: "Efí Pix notification",
    description,
    request: { query: QuerySchema },
    responses,
  });

async function receive(c: Context<AppEnv>) {
  const ctx = c.get("ctx");
  verifyEfiSender(ctx.config, { hmac: c.req.query("hmac"), senderIp: c.req.header("cf-connecting-ip") });
  const result = await ingestEfiNotification(ctx, await c.req.text());
  return c.json({ received: result.items, stored: result.stored }, 200);
}

const CardReceiptSchema = z
  .object({
    status: z.enum(["applied", "ignored"]).openapi({
      description:
        "`applied`: the charge's current state at Efí was applied to its payment (a no-op when it was already); `ignored`: not a charge of ours, or of an earlier attempt",
    }),
  })
  .openapi("EfiCardNotificationReceipt");

const cardNotification = createRoute({
  method: "post",
  path: "/card",
  operationId: "receiveEfiCardNotification",
  tags: ["Webhooks"],
  summary: "Efí card charge notification",
  description:
    "Called by Efí, not by clients. Efí posts a form field `notification=<token>` (`application/x-www-form-urlencoded`, read after the sender is authenticated) to a card charge's `notification_url` whenever the charge changes. The token is only a hint: we read the charge it names back from Efí (`GET /v1/notification/:token`, then the charge) and apply its current status to the payment attempt named by its `custom_id`, through the same code as the charge's own reply, so a repeated or concurrent notification changes nothing twice. Authenticated like the Pix webhook (`hmac` query secret, sender address). A status we do not know leaves the payment pending as `outcome_unknown`; an approved total that differs from the amount is not confirmed.",
  request: {
    query: z.object({ hmac: z.string().optional().openapi({ description: "The shared secret" }) }),
  },
  responses: {
    200: jsonContent(CardReceiptSchema, "Read back from Efí and applied (or ignored)"),
    ...problemResponses(
      "webhook_malformed",
      "validation_failed",
      "webhook_unauthorized",
      "webhook_forbidden",
      "payload_too_large",
    ),
  },
});

async function receiveCard(c: Context<AppEnv>) {
  const ctx = c.get("ctx");
  verifyEfiSender(ctx.config, { hmac: c.req.query("hmac"), senderIp: c.req.header("cf-connecting-ip") });
  const token = new URLSearchParams(await c.req.text()).get("notification")?.trim() ?? "";
  if (!/^[A-Za-z0-9-]{1,100}$/.test(token)) {
    throw new ApiError("webhook_malformed", "The body must be the form field notification=<token>");
  }
  try {
    const result = await applyCardNotification(ctx, token);
    return c.json({ status: result.status }, 200);
  } catch (error) {
    // A token Efí does not know is nobody's notification: nothing to apply, nothing to retry.
    if (error instanceof EfiError && error.status === 404) return c.json({ status: "ignored" as const }, 200);
    throw error;
  }
}

/**
 * Mounted outside /v1 (no JSON guard: Efí's body is read and parsed here, after the sender is
 * authenticated), with its own body limit.
 */
export const efiWebhookRoutes = createRouter();
efiWebhookRoutes.use(
  "*",
  bodyLimit({
    maxSize: WEBHOOK_MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `The body must be at most ${WEBHOOK_MAX_BODY_BYTES} bytes`);
    },
  }),
);
efiWebhookRoutes.openapi(cardNotification, receiveCard);
efiWebhookRoutes.openapi(notification("/pix", "receiveEfiPixNotification"), receive);
efiWebhookRoutes.openapi(notification("/", "receiveEfiNotification"), receive);
