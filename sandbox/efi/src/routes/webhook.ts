import { Hono } from "hono";
import { z } from "zod";
import { requireScope } from "../auth";
import type { SandboxEnv } from "../context";
import { jsonInvalido, legacy, parseBody } from "../errors";
import { deliverResend, planResend } from "../flows";
import { deleteWebhook, findWebhook, listWebhooks, upsertWebhook } from "../store";

/**
 * Webhook registration per Pix key (`/v2/webhook/:chave`) and Efí's manual resend. Efí requires an
 * HTTPS URL; the sandbox also accepts plain http on localhost / 127.0.0.1 / [::1], because a
 * local platform has no TLS. It does not probe the URL at registration (no mTLS to check).
 */

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function checkWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw legacy(400, "valor_invalido", "URL inválida");
  }
  const localHttp = url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== "https:" && !localHttp) {
    throw legacy(400, "valor_invalido", "A URL do webhook deve usar o protocolo HTTPS");
  }
  return raw;
}

export const webhookRoutes = new Hono<SandboxEnv>();

const chaveInvalida = () =>
  legacy(400, "chave_invalida", "A chave informada não faz referência à conta Efí autenticada");

webhookRoutes.put("/v2/webhook/:chave", requireScope("webhook.write"), async (c) => {
  const deps = c.get("deps");
  const chave = c.req.param("chave");
  const input = await parseBody(c, z.object({ webhookUrl: z.string().min(1) }));
  const webhookUrl = checkWebhookUrl(input.webhookUrl);
  if (chave !== deps.pixKey) throw chaveInvalida();
  await upsertWebhook(deps.db, { chave, webhook_url: webhookUrl, criacao: deps.now().toISOString() });
  return c.json({ webhookUrl }, 201);
});

webhookRoutes.get("/v2/webhook/:chave", requireScope("webhook.read"), async (c) => {
  const row = await findWebhook(c.get("deps").db, c.req.param("chave"));
  if (!row) throw legacy(400, "webhook_nao_encontrado", "Webhook não encontrado para a chave informada");
  return c.json({ webhookUrl: row.webhook_url, chave: row.chave, criacao: row.criacao });
});

webhookRoutes.delete("/v2/webhook/:chave", requireScope("webhook.write"), async (c) => {
  if (!(await deleteWebhook(c.get("deps").db, c.req.param("chave")))) {
    throw legacy(400, "webhook_nao_encontrado", "Webhook não encontrado para a chave informada");
  }
  return c.body(null, 204);
});

webhookRoutes.get("/v2/webhook", requireScope("webhook.read"), async (c) => {
  const rows = await listWebhooks(c.get("deps").db);
  const inicio = c.req.query("inicio");
  const fim = c.req.query("fim");
  const inRange = rows.filter((r) => (!inicio || r.criacao >= inicio) && (!fim || r.criacao <= fim));
  return c.json({
    parametros: {
      ...(inicio ? { inicio } : {}),
      ...(fim ? { fim } : {}),
      paginacao: {
        paginaAtual: 0,
        itensPorPagina: 100,
        quantidadeDePaginas: inRange.length ? 1 : 0,
        quantidadeTotalDeItens: inRange.length,
      },
    },
    webhooks: inRange.map((r) => ({ webhookUrl: r.webhook_url, chave: r.chave, criacao: r.criacao })),
  });
});

const resendSchema = z.object({
  tipo: z.enum(["PIX_RECEBIDO", "PIX_ENVIADO", "DEVOLUCAO_RECEBIDA", "DEVOLUCAO_ENVIADA"]),
  e2eids: z
    .array(z.string().regex(/^[a-zA-Z0-9]{32}$/))
    .min(1)
    .max(1000),
});

/** One attempt per e2eId, no retries; refunds go out as one item with the whole `devolucoes`. */
webhookRoutes.post("/v2/gn/webhook/reenviar", requireScope("webhook.write"), async (c) => {
  const deps = c.get("deps");
  const input = await parseBody(c, resendSchema);
  const plans = await planResend(deps, input.e2eids, input.tipo);
  if ("unknown" in plans) {
    throw jsonInvalido([
      {
        chave: "e2eids",
        caminho: ".body.e2eids",
        mensagem: `Nenhuma transação do tipo ${input.tipo} encontrada para o e2eid ${plans.unknown}`,
      },
    ]);
  }
  c.get("later")(async () => {
    await deliverResend(deps, plans, "resend");
  });
  return c.body(null, 202);
});
