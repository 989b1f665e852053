import { Hono } from "hono";
import { z } from "zod";
import type { SandboxEnv } from "../context";
import { control } from "../errors";
import { refundNotificationItem, sendRefundItem } from "../flows";
import { newRtrId, randomAlnum } from "../ids";
import { parseValor } from "../money";
import { findPix, findSend, insertRefund, insertSendRefunds } from "../store";
import { notifyPix } from "../webhooks";
import { controlBody, valorSchema } from "./control";

/**
 * Money that leaves or comes back without us asking, for tests and a developer:
 * - `POST /sandbox/pix/:e2eId/med {valor?}`: the payer's bank takes a received Pix back (MED).
 *   A devolução the receiver never requested appears on the Pix, already `DEVOLVIDO`, and the
 *   same `devolucoes[]` notification as a refund of ours is sent.
 * - `POST /sandbox/pix-sends/:idEnvio/return {valor?}`: the receiving bank returns all or part
 *   of a settled send; the send's reads list it and a `DEVOLUCAO_RECEBIDA` notification is sent.
 * Without `valor`, the whole amount.
 */
export const medRoutes = new Hono<SandboxEnv>();

const body = z.object({ valor: valorSchema.optional(), motivo: z.string().min(1).max(140).optional() });

medRoutes.post("/sandbox/pix/:e2eId/med", async (c) => {
  const deps = c.get("deps");
  const input = await controlBody(c, body);
  const pix = await findPix(deps.db, c.req.param("e2eId"));
  if (!pix) throw control(404, "pix_not_found", `No received Pix ${c.req.param("e2eId")}`);
  const at = deps.now().toISOString();
  const refund = {
    e2e_id: pix.e2e_id,
    id: `MED${randomAlnum(24)}`,
    rtr_id: newRtrId(deps.now()),
    valor_cents: input.valor ? parseValor(input.valor) : pix.valor_cents,
    status: "DEVOLVIDO" as const,
    motivo: input.motivo ?? "Devolução MED: fraude reportada pelo pagador",
    solicitacao: at,
    liquidacao: at,
  };
  if (!(await insertRefund(deps.db, refund))) {
    throw control(409, "med_exceeds_pix", "The Pix's devoluções would exceed its amount");
  }
  const item = await refundNotificationItem(deps, pix);
  c.get("later")(async () => void (await notifyPix(deps, pix.chave, "DEVOLUCAO_ENVIADA", "event", [item])));
  return c.json({ e2eId: pix.e2e_id, id: refund.id, rtrId: refund.rtr_id, valor_cents: refund.valor_cents });
});

medRoutes.post("/sandbox/pix-sends/:idEnvio/return", async (c) => {
  const deps = c.get("deps");
  const input = await controlBody(c, body);
  const send = await findSend(deps.db, c.req.param("idEnvio"));
  if (!send) throw control(404, "send_not_found", `No Pix send with idEnvio ${c.req.param("idEnvio")}`);
  if (send.status !== "REALIZADO") throw control(409, "send_not_settled", `Pix send is ${send.status}`);
  const valor = input.valor ? parseValor(input.valor) : send.valor_cents;
  if (valor > send.valor_cents) throw control(409, "return_exceeds_send", "More than was sent");
  const row = {
    e2e_id: send.e2e_id,
    id: `D${randomAlnum(20)}`,
    rtr_id: newRtrId(deps.now()),
    valor_cents: valor,
    horario: deps.now().toISOString(),
  };
  await insertSendRefunds(deps.db, [row]);
  const item = await sendRefundItem(deps, send);
  c.get("later")(
    async () => void (await notifyPix(deps, send.pagador_chave, "DEVOLUCAO_RECEBIDA", "event", [item])),
  );
  return c.json({ idEnvio: send.id_envio, id: row.id, rtrId: row.rtr_id, valor_cents: valor });
});
