import { type Context, Hono } from "hono";
import { z } from "zod";
import { type CardRow, confirmCard, REFUSALS, REFUSE_NEXT_CARD } from "../cards";
import { type Deps, HOMOLOGACAO_FAVORED_KEY, type SandboxEnv } from "../context";
import { control, readJson } from "../errors";
import { DEFAULT_SEND_ERROR, deliverResend, payCob, planResend, settleRefund, settleSend } from "../flows";
import { parseValor, VALOR_PATTERN } from "../money";
import { expireTokens, findSend, setFlag } from "../store";
import { listDeliveries } from "../webhooks";
import { FAIL_NEXT_SEND } from "./pix-send";

/**
 * The sandbox's own control API, for a developer (through the page at GET /sandbox) and for
 * scripted checks. Not part of Efí: errors are plain `{error, message}`. Open to anyone who can
 * reach the port, which is why the sandbox is never deployed.
 */

export const controlRoutes = new Hono<SandboxEnv>();

export async function controlBody<T extends z.ZodType>(c: Context<SandboxEnv>, schema: T) {
  const raw = await readJson(c).catch(() => {
    throw control(400, "invalid_request", "The body must be JSON");
  });
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw control(
      400,
      "invalid_request",
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data as z.infer<T>;
}

export const valorSchema = z
  .string()
  .regex(VALOR_PATTERN, 'an Efí amount such as "12.34"')
  .refine((v) => parseValor(v) > 0, "must be more than 0.00");

/** Pays an ATIVA cob now (optionally another amount, for mismatch tests) and sends its webhook. */
controlRoutes.post("/sandbox/charges/:txid/pay", async (c) => {
  const deps = c.get("deps");
  const input = await controlBody(
    c,
    z.object({ valor: valorSchema.optional(), infoPagador: z.string().max(140).optional() }),
  );
  const txid = c.req.param("txid");
  const paid = await payCob(deps, txid, {
    valorCents: input.valor ? parseValor(input.valor) : undefined,
    infoPagador: input.infoPagador,
  });
  if (!paid.ok) {
    if (paid.reason === "not_found") throw control(404, "cob_not_found", `No cob with txid ${txid}`);
    if (paid.reason === "expired")
      throw control(409, "cob_expired", `Cob ${txid} has expired; a payer cannot pay it`);
    throw control(409, "cob_not_active", `Cob ${txid} is ${paid.status ?? "not ATIVA"}, not ATIVA`);
  }
  c.get("later")(async () => void (await paid.notify()));
  return c.json({ txid, e2eId: paid.pix.e2e_id, valor: input.valor ?? null, horario: paid.pix.horario });
});

/** Delivers the same notifications again, one attempt each, as Efí's own resend does. */
controlRoutes.post("/sandbox/webhooks/resend", async (c) => {
  const deps = c.get("deps");
  const input = await controlBody(c, z.object({ e2eids: z.array(z.string().min(1)).min(1).max(100) }));
  const plans = await planResend(deps, input.e2eids);
  if ("unknown" in plans)
    throw control(404, "e2eid_not_found", `Nothing notified yet for e2eId ${plans.unknown}`);
  c.get("later")(async () => void (await deliverResend(deps, plans, "control_resend")));
  return c.json({ resending: plans.map((p) => ({ e2eId: p.e2eId, kind: p.kind })) }, 202);
});

async function settleSendNow(deps: Deps, idEnvio: string, settle: Parameters<typeof settleSend>[2]) {
  const send = await findSend(deps.db, idEnvio);
  if (!send) throw control(404, "send_not_found", `No Pix send with idEnvio ${idEnvio}`);
  const notify = await settleSend(deps, idEnvio, settle);
  if (!notify) throw control(409, "send_already_settled", `Pix send ${idEnvio} is already ${send.status}`);
  return notify;
}

/** Rejects a send still EM_PROCESSAMENTO and sends the NAO_REALIZADO webhook. */
controlRoutes.post("/sandbox/pix-sends/:idEnvio/fail", async (c) => {
  const input = await controlBody(
    c,
    z.object({ motivo: z.string().min(1).max(140).optional(), codigo: z.string().max(8).optional() }),
  );
  const erro = {
    ...DEFAULT_SEND_ERROR,
    ...(input.motivo ? { motivo: input.motivo } : {}),
    ...(input.codigo ? { codigo: input.codigo } : {}),
  };
  const notify = await settleSendNow(c.get("deps"), c.req.param("idEnvio"), {
    status: "NAO_REALIZADO",
    erro,
  });
  c.get("later")(async () => void (await notify()));
  return c.json({ idEnvio: c.req.param("idEnvio"), status: "NAO_REALIZADO", erro });
});

/** Confirms a send still EM_PROCESSAMENTO (useful with auto-settle off) and sends the webhook. */
controlRoutes.post("/sandbox/pix-sends/:idEnvio/confirm", async (c) => {
  const notify = await settleSendNow(c.get("deps"), c.req.param("idEnvio"), { status: "REALIZADO" });
  c.get("later")(async () => void (await notify()));
  return c.json({ idEnvio: c.req.param("idEnvio"), status: "REALIZADO" });
});

/** The next Pix send that settles by itself is rejected (whatever its amount). */
controlRoutes.post("/sandbox/pix-sends/fail-next", async (c) => {
  const input = await controlBody(c, z.object({ motivo: z.string().max(140).optional() }));
  await setFlag(c.get("deps").db, FAIL_NEXT_SEND, input.motivo ?? "");
  return c.json({ failNext: true, motivo: input.motivo ?? DEFAULT_SEND_ERROR.motivo });
});

/** Settles a refund still EM_PROCESSAMENTO by homologação's rule (R$0.01 rejected) and notifies. */
controlRoutes.post("/sandbox/refunds/:e2eId/:id/settle", async (c) => {
  const notify = await settleRefund(c.get("deps"), c.req.param("e2eId"), c.req.param("id"));
  if (!notify) throw control(409, "refund_not_pending", "No refund EM_PROCESSAMENTO with that e2eId and id");
  c.get("later")(async () => void (await notify()));
  return c.json({ settled: true });
});

/** The next one-step card charge is refused with outcome 1, 2 or 3 (see cards.ts), whatever its token. */
controlRoutes.post("/sandbox/cards/refuse-next", async (c) => {
  const input = await controlBody(c, z.object({ outcome: z.enum(["1", "2", "3"]).optional() }));
  const outcome = input.outcome ?? "2";
  await setFlag(c.get("deps").db, REFUSE_NEXT_CARD, outcome);
  return c.json({ refuseNext: true, outcome, refusal: REFUSALS[outcome] });
});

/** Confirms an approved card charge (approved → paid) and notifies. */
controlRoutes.post("/sandbox/cards/:chargeId/confirm", async (c) => {
  const moved = await confirmCard(c.get("deps"), Number(c.req.param("chargeId")));
  if (!moved.ok) throw control(409, "charge_not_approved", "No approved card charge with that id");
  const notify = moved.notify;
  if (notify) c.get("later")(async () => void (await notify()));
  return c.json({ chargeId: Number(c.req.param("chargeId")), status: "paid" });
});

/** Expires every token (or one), so a client can show it re-authenticates on a 401. */
controlRoutes.post("/sandbox/tokens/expire", async (c) => {
  const input = await controlBody(c, z.object({ token: z.string().optional() }));
  const deps = c.get("deps");
  return c.json({ expired: await expireTokens(deps.db, deps.now().toISOString(), input.token) });
});

export async function sandboxState(deps: Deps) {
  const all = async <T>(sql: string) => (await deps.db.prepare(sql).all<T>()).results;
  return {
    account: { clientId: deps.clientId, pixKey: deps.pixKey, homologacaoFavoredKey: HOMOLOGACAO_FAVORED_KEY },
    webhooks: await all("SELECT * FROM webhooks ORDER BY criacao"),
    cobs: await all(
      `SELECT c.*, l.location, p.e2e_id FROM cobs c JOIN locations l ON l.id = c.loc_id
       LEFT JOIN pix_received p ON p.txid = c.txid ORDER BY c.criacao DESC LIMIT 100`,
    ),
    pixReceived: await all("SELECT * FROM pix_received ORDER BY horario DESC LIMIT 100"),
    refunds: await all("SELECT * FROM refunds ORDER BY solicitacao DESC LIMIT 100"),
    sends: await all("SELECT * FROM pix_sends ORDER BY solicitacao DESC LIMIT 100"),
    sendRefunds: await all("SELECT * FROM send_refunds ORDER BY horario DESC LIMIT 100"),
    cards: await all<CardRow>("SELECT * FROM card_charges ORDER BY charge_id DESC LIMIT 100"),
    flags: await all("SELECT * FROM sandbox_flags"),
    deliveries: await listDeliveries(deps),
  };
}

/** Everything the sandbox holds: charges, sends, refunds, cards, and every webhook attempt. */
controlRoutes.get("/sandbox/state", async (c) => c.json(await sandboxState(c.get("deps"))));
