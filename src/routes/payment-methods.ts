import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeAuth, requireRole } from "../http/auth";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  createRouter,
  jsonBody,
  jsonContent,
  problemResponses,
} from "../http/router";
import { PageQuerySchema } from "../lib/pagination";
import * as cards from "../services/payments/card/on-file";

// Cards on file. The payment token never leaves the server once stored: replies show the brand
// and the last four digits only.

const CardSchema = z
  .object({
    id: z.string().openapi({ example: "pm_01JD8Y3M0S3Q4VQK6E9Q1T2B5C" }),
    brand: z.enum(cards.CARD_BRANDS),
    last4: z.string().openapi({ example: "4242" }),
    created_at: z.string(),
  })
  .openapi("Card");

const AddCardSchema = z
  .object({
    payment_token: z
      .string()
      .regex(/^[\x21-\x7e]{1,255}$/, "must be 1 to 255 visible characters")
      .openapi({
        example: "6426f3abd8688639c6772963669bbb8e0eb3c319",
        description: "From the provider's device SDK (Efí: `getPaymentToken()` with `reuse: true`)",
      }),
    brand: z.enum(cards.CARD_BRANDS),
    last4: z
      .string()
      .regex(/^\d{4}$/, "must be the card number's last 4 digits")
      .openapi({ example: "4242" }),
  })
  .openapi("AddCardRequest");

const security = [{ bearerAuth: [] }];

const addCard = createRoute({
  method: "post",
  path: "/cards",
  operationId: "addCard",
  tags: ["Payment methods"],
  summary: "Store a tokenised card",
  description:
    "For passengers; adds a card to the caller's cards. The card is tokenised on the device by the provider's SDK; only the token, the brand and the last four digits reach us. Card rides are charged on the most recent card. Needs the CPF given at registration (`409 cpf_required` without it): the card provider does not charge without it.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger")] as const,
  request: jsonBody(AddCardSchema),
  responses: {
    201: jsonContent(CardSchema, "The stored card, without its token"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS, "forbidden", "cpf_required"),
  },
});

const listCards = createRoute({
  method: "get",
  path: "/",
  operationId: "listPaymentMethods",
  tags: ["Payment methods"],
  summary: "The caller's cards, newest first",
  description: "For passengers; read only. Each card shows its brand and last four digits, never its token.",
  security,
  middleware: [requireEdgeAuth, requireRole("passenger")] as const,
  request: { query: PageQuerySchema },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(CardSchema), next_cursor: z.string().nullable() }),
      "A page of cards",
    ),
    ...problemResponses(...AUTH_PROBLEMS, "forbidden", "validation_failed"),
  },
});

export const paymentMethodRoutes = createRouter()
  .openapi(addCard, async (c) => {
    const body = c.req.valid("json");
    const card = await cards.addCard(c.get("ctx"), c.get("user").id, {
      paymentToken: body.payment_token,
      brand: body.brand,
      last4: body.last4,
    });
    return c.json(card, 201);
  })
  .openapi(listCards, async (c) => {
    const page = await cards.listCards(c.get("ctx"), c.get("user").id, c.req.valid("query"));
    return c.json(page, 200);
  });
