import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../../http/env";
import { createRouter, jsonContent, problemResponses } from "../../http/router";
import { ApiError } from "../../lib/problem";
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
efiWebhookRoutes.openapi(notification("/pix", "receiveEfiPixNotification"), receive);
efiWebhookRoutes.openapi(notification("/", "receiveEfiNotification"), receive);
