import { Hono } from "hono";
import { z } from "zod";
import { requireCobrancasToken } from "../auth";
import {
  type CardRow,
  cardEvents,
  confirmCard,
  efiDateTime,
  findCard,
  insertCard,
  outcomeOf,
  REFUSE_NEXT_CARD,
  transition,
} from "../cards";
import type { SandboxEnv } from "../context";
import { cobrancas, readJson } from "../errors";
import { takeFlag } from "../store";

/**
 * The card slice of Efí's Cobranças API: one-step charge, read, refund, notification history.
 * Successes are `{code: 200, data}`; errors `{code, error, error_description}`. Amounts are
 * integer centavos, as in Efí's own card API.
 */

const address = z.object({
  street: z.string().min(1),
  number: z.string().min(1),
  neighborhood: z.string().min(1),
  zipcode: z.string().regex(/^\d{8}$/),
  city: z.string().min(1),
  complement: z.string().optional(),
  state: z.string().regex(/^[A-Z]{2}$/),
});

const oneStepSchema = z.object({
  items: z
    .array(
      z.object({
        name: z.string().min(1).max(255),
        value: z.number().int().min(1),
        amount: z.number().int().min(1).optional(),
      }),
    )
    .min(1),
  shippings: z.array(z.object({ name: z.string().min(1), value: z.number().int().min(0) })).optional(),
  metadata: z
    .object({ custom_id: z.string().max(255).optional(), notification_url: z.string().url().optional() })
    .optional(),
  payment: z.object({
    credit_card: z.object({
      customer: z.object({
        name: z.string().min(1),
        cpf: z.string().regex(/^\d{11}$/),
        email: z.string().email(),
        phone_number: z.string().regex(/^\d{10,11}$/),
        birth: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      }),
      installments: z.number().int().min(1).max(12),
      payment_token: z.string().min(1),
      billing_address: address,
      message: z.string().max(80).optional(),
    }),
  }),
});

export const cardRoutes = new Hono<SandboxEnv>();

cardRoutes.use("/v1/charge/*", requireCobrancasToken);
cardRoutes.use("/v1/charges", requireCobrancasToken);
cardRoutes.use("/v1/notification/*", requireCobrancasToken);

function validationError(issue: z.core.$ZodIssue) {
  return cobrancas(400, 3500034, "validation_error", {
    property: `/${issue.path.map(String).join("/")}`,
    message: issue.message,
  });
}

function chargeParam(raw: string) {
  const id = /^\d{1,12}$/.test(raw) ? Number(raw) : Number.NaN;
  return Number.isSafeInteger(id) ? id : null;
}

const notFound = () => cobrancas(404, 3500010, "charge_not_found", "A cobrança informada não existe");

cardRoutes.post("/v1/charge/one-step", async (c) => {
  const deps = c.get("deps");
  const parsed = oneStepSchema.safeParse(await readJson(c));
  if (!parsed.success) throw validationError(parsed.error.issues[0] as z.core.$ZodIssue);
  const input = parsed.data;
  const card = input.payment.credit_card;
  const total =
    input.items.reduce((sum, item) => sum + item.value * (item.amount ?? 1), 0) +
    (input.shippings ?? []).reduce((sum, s) => sum + s.value, 0);
  const created = await insertCard(deps, {
    total,
    installments: card.installments,
    payment_token: card.payment_token,
    items: JSON.stringify(input.items),
    customer: JSON.stringify(card.customer),
    custom_id: input.metadata?.custom_id ?? null,
    notification_url: input.metadata?.notification_url ?? null,
    created_at: efiDateTime(deps.now()),
  });
  const forced = await takeFlag(deps.db, REFUSE_NEXT_CARD);
  const refusal = outcomeOf(card.payment_token, forced);
  const later = c.get("later");
  const chargeId = created.charge_id;
  const waiting = await transition(
    deps,
    chargeId,
    ["new"],
    "waiting",
    "Pagamento via cartão de crédito aguardando confirmação",
  );
  const decided = refusal
    ? await transition(deps, chargeId, ["waiting"], "unpaid", `Falha no pagamento - ${refusal.reason}`, {
        refusal: JSON.stringify(refusal),
      })
    : await transition(
        deps,
        chargeId,
        ["waiting"],
        "approved",
        "Pagamento aprovado pela operadora do cartão",
      );
  later(async () => {
    await waiting.notify?.();
    await decided.notify?.();
    if (!refusal && deps.autoSettle) {
      await deps.sleep(deps.settleDelayMs);
      await (await confirmCard(deps, chargeId)).notify?.();
    }
  });
  return c.json({
    code: 200,
    data: {
      installments: card.installments,
      installment_value: Math.ceil(total / card.installments),
      charge_id: chargeId,
      status: refusal ? "unpaid" : "approved",
      ...(refusal ? { refusal } : {}),
      total,
      payment: "credit_card",
    },
  });
});

async function chargeView(db: D1Database, charge: CardRow) {
  const events = await cardEvents(db, charge.charge_id);
  const refusal = charge.refusal ? (JSON.parse(charge.refusal) as { reason: string }) : null;
  return {
    charge_id: charge.charge_id,
    total: charge.total,
    status: charge.status,
    ...(refusal ? { reason: refusal.reason } : {}),
    custom_id: charge.custom_id,
    created_at: charge.created_at,
    notification_url: charge.notification_url,
    items: JSON.parse(charge.items),
    history: events.map((e) => ({ message: e.message, created_at: efiDateTime(new Date(e.created_at)) })),
    customer: charge.customer ? JSON.parse(charge.customer) : null,
    payment: {
      method: "credit_card",
      created_at: charge.created_at,
      message: null,
      credit_card: {
        mask: `XXXXXXXXXXXX000${charge.payment_token.slice(-1)}`,
        installments: charge.installments,
        installment_value: Math.ceil(charge.total / charge.installments),
      },
    },
    ...(charge.refunded_cents ? { refunded: charge.refunded_cents } : {}),
  };
}

cardRoutes.get("/v1/charge/:id", async (c) => {
  const id = chargeParam(c.req.param("id"));
  const charge = id === null ? null : await findCard(c.get("deps").db, id);
  if (!charge) throw notFound();
  return c.json({ code: 200, data: await chargeView(c.get("deps").db, charge) });
});

/**
 * The charges carrying a `metadata.custom_id`: `{code: 200, data: [charge…]}`, oldest first; an
 * empty list when none does. The way to find a charge whose creation reply was lost.
 */
cardRoutes.get("/v1/charges", async (c) => {
  const db = c.get("deps").db;
  const customId = c.req.query("custom_id");
  if (!customId) {
    throw cobrancas(400, 3500034, "validation_error", {
      property: "/custom_id",
      message: "custom_id é obrigatório",
    });
  }
  const { results } = await db
    .prepare("SELECT * FROM card_charges WHERE custom_id = ? ORDER BY charge_id")
    .bind(customId)
    .all<CardRow>();
  const data = [];
  for (const charge of results) data.push(await chargeView(db, charge));
  return c.json({ code: 200, data });
});

/** Full refund when `amount` is omitted; the charge must be paid and the amount within what is left. */
cardRoutes.post("/v1/charge/card/:id/refund", async (c) => {
  const deps = c.get("deps");
  const id = chargeParam(c.req.param("id"));
  const charge = id === null ? null : await findCard(deps.db, id);
  if (!charge) throw notFound();
  const body = (await readJson(c)) as { amount?: unknown };
  if (charge.status !== "paid") {
    throw cobrancas(400, 3500042, "invalid_status", "Somente cobranças pagas (paid) podem ser estornadas");
  }
  const left = charge.total - charge.refunded_cents;
  const amount = body?.amount === undefined ? left : body.amount;
  if (typeof amount !== "number" || !Number.isInteger(amount) || amount < 1 || amount > left) {
    throw cobrancas(400, 3500034, "validation_error", {
      property: "/amount",
      message: `O valor do estorno deve ser um inteiro entre 1 e ${left}`,
    });
  }
  const refunded = charge.refunded_cents + amount;
  const full = refunded === charge.total;
  const moved = await transition(
    deps,
    charge.charge_id,
    ["paid"],
    full ? "refunded" : "paid",
    full ? "Cobrança estornada" : "Estorno parcial",
    { refundedCents: refunded },
  );
  if (!moved.ok)
    throw cobrancas(409, 3500042, "invalid_status", "A cobrança mudou de status; tente novamente");
  const notifyRefund = moved.notify;
  if (notifyRefund) c.get("later")(async () => void (await notifyRefund()));
  return c.json({ status: 200, message: "Reembolso em processamento" });
});

/** The charge's status changes since creation; `id` orders them, as Efí's notification history. */
cardRoutes.get("/v1/notification/:token", async (c) => {
  const deps = c.get("deps");
  const charge = await deps.db
    .prepare("SELECT * FROM card_charges WHERE notification_token = ?")
    .bind(c.req.param("token"))
    .first<CardRow>();
  if (!charge)
    throw cobrancas(404, 3500010, "notification_not_found", "O token de notificação informado não existe");
  const events = await cardEvents(deps.db, charge.charge_id);
  return c.json({
    code: 200,
    data: events.map((e, i) => ({
      id: i + 1,
      type: "charge",
      custom_id: charge.custom_id,
      status: { current: e.status, previous: e.previous },
      identifiers: { charge_id: charge.charge_id },
      created_at: efiDateTime(new Date(e.created_at)),
    })),
  });
});
