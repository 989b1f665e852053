import { Hono } from "hono";
import { z } from "zod";
import { requireScope } from "../auth";
import type { SandboxEnv } from "../context";
import { checkParam, jsonInvalido, legacy, parseBody } from "../errors";
import { pixItem, pixWithRefunds, refundView, settleRefund } from "../flows";
import { DEVOLUCAO_ID_PATTERN, E2E_ID_PATTERN, newRtrId } from "../ids";
import { parseValor, VALOR_PATTERN } from "../money";
import { findPix, findRefund, insertRefund, listRefunds, type PixRow, type RefundRow } from "../store";

/**
 * Received Pix (`/v2/pix/:e2eId`) and their refunds (`/devolucao/:id`). The refunds of one Pix, rejected ones
 * aside, may not add up to more than it. Homologação: a refund of exactly R$0.01 is rejected
 * (NAO_REALIZADO), any other settles as DEVOLVIDO; both are notified by webhook.
 */

const pixNotFound = () =>
  legacy(400, "pix_nao_encontrado", "Nenhum pix encontrado para o identificador informado");

export const pixRoutes = new Hono<SandboxEnv>();

/**
 * The statement of received Pix: `{parametros{inicio, fim, paginacao}, pix[]}`, each item with
 * `chave` and its `devolucoes`, received between `inicio` and `fim` (both required, RFC 3339),
 * oldest first, paginated like the cob list (`paginacao.paginaAtual` from 0,
 * `paginacao.itensPorPagina` 100 by default).
 */
pixRoutes.get("/v2/pix", requireScope("pix.read"), async (c) => {
  const deps = c.get("deps");
  const inicio = c.req.query("inicio");
  const fim = c.req.query("fim");
  if (!inicio || !fim) {
    throw jsonInvalido(
      [!inicio && "inicio", !fim && "fim"].filter(Boolean).map((name) => ({
        chave: "required",
        caminho: ".query",
        mensagem: `deve ter a propriedade obrigatória ${name}`,
      })),
    );
  }
  const from = new Date(inicio);
  const to = new Date(fim);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) {
    throw jsonInvalido([
      { chave: "format", caminho: ".query.inicio", mensagem: 'deve corresponder ao formato "date-time"' },
    ]);
  }
  if (to < from)
    throw legacy(400, "valor_invalido", "Campo de data fim deve ser maior ou igual ao campo de data inicio");
  const page = Math.max(0, Number(c.req.query("paginacao.paginaAtual") ?? 0) || 0);
  const perPage = Math.min(1000, Math.max(1, Number(c.req.query("paginacao.itensPorPagina") ?? 100) || 100));
  const { results } = await deps.db
    .prepare("SELECT * FROM pix_received WHERE horario >= ? AND horario <= ? ORDER BY horario, e2e_id")
    .bind(from.toISOString(), to.toISOString())
    .all<PixRow>();
  const slice = results.slice(page * perPage, (page + 1) * perPage);
  const pix = [];
  for (const row of slice) {
    const refunds = await listRefunds(deps.db, row.e2e_id);
    pix.push({
      ...pixItem(row, true),
      ...(refunds.length ? { devolucoes: refunds.map((r) => refundView(r, true)) } : {}),
    });
  }
  return c.json({
    parametros: {
      inicio: from.toISOString(),
      fim: to.toISOString(),
      paginacao: {
        paginaAtual: page,
        itensPorPagina: perPage,
        quantidadeDePaginas: Math.ceil(results.length / perPage),
        quantidadeTotalDeItens: results.length,
      },
    },
    pix,
  });
});

pixRoutes.get("/v2/pix/:e2eId", requireScope("pix.read"), async (c) => {
  const deps = c.get("deps");
  const pix = await findPix(deps.db, c.req.param("e2eId"));
  if (!pix) throw pixNotFound();
  return c.json(await pixWithRefunds(deps, pix));
});

pixRoutes.put("/v2/pix/:e2eId/devolucao/:id", requireScope("pix.write"), async (c) => {
  const deps = c.get("deps");
  const e2eId = c.req.param("e2eId");
  const id = checkParam("id", c.req.param("id"), DEVOLUCAO_ID_PATTERN);
  const input = await parseBody(c, z.object({ valor: z.string().regex(VALOR_PATTERN) }));
  const pix = E2E_ID_PATTERN.test(e2eId) ? await findPix(deps.db, e2eId) : null;
  if (!pix) throw pixNotFound();
  const valorCents = parseValor(input.valor);
  if (valorCents <= 0) throw legacy(400, "valor_invalido", "Campo valor deve ser maior que zero");
  const duplicate = () =>
    legacy(409, "devolucao_id_duplicado", "O id informado já foi utilizado em outra devolução");
  if (await findRefund(deps.db, e2eId, id)) throw duplicate();
  const now = deps.now();
  const refund: RefundRow = {
    e2e_id: e2eId,
    id,
    rtr_id: newRtrId(now),
    valor_cents: valorCents,
    status: "EM_PROCESSAMENTO",
    motivo: null,
    solicitacao: now.toISOString(),
    liquidacao: null,
  };
  let inserted: boolean;
  try {
    inserted = await insertRefund(deps.db, refund);
  } catch (error) {
    if (error instanceof Error && /UNIQUE constraint failed/.test(error.message)) throw duplicate();
    throw error;
  }
  if (!inserted) {
    throw legacy(400, "valor_invalido", "O valor da devolução é superior ao valor disponível para devolução");
  }
  if (deps.autoSettle) {
    c.get("later")(async () => {
      await deps.sleep(deps.settleDelayMs);
      await (await settleRefund(deps, e2eId, id))?.();
    });
  }
  return c.json(refundView(refund, false), 201);
});

pixRoutes.get("/v2/pix/:e2eId/devolucao/:id", requireScope("pix.read"), async (c) => {
  const deps = c.get("deps");
  const e2eId = c.req.param("e2eId");
  if (!(await findPix(deps.db, e2eId))) throw pixNotFound();
  const refund = await findRefund(deps.db, e2eId, c.req.param("id"));
  if (!refund) {
    throw legacy(
      400,
      "devolucao_nao_encontrada",
      "Nenhuma devolução encontrada para o identificador informado",
    );
  }
  return c.json(refundView(refund, true));
});
