import { type Context, Hono } from "hono";
import { z } from "zod";
import { requireScope } from "../auth";
import { type Deps, HOMOLOGACAO_FAVORED_KEY, type SandboxEnv } from "../context";
import { maskCnpj, maskCpf } from "../documents";
import { bcb, checkParam, legacy, parseBody } from "../errors";
import { DEFAULT_SEND_ERROR, type SendError, settleSend } from "../flows";
import { ID_ENVIO_PATTERN, newE2eId } from "../ids";
import { formatValor, parseValor, VALOR_PATTERN } from "../money";
import {
  findSend,
  findSendByE2e,
  findWebhook,
  insertSend,
  listSendRefunds,
  type SendRow,
  takeFlag,
} from "../store";
import { assertKeyOwner } from "./key-owners";

/**
 * Pix sends (`PUT /v3/gn/pix/:idEnvio`) with homologação's rules: R$0.01–10.00 is confirmed and
 * R$10.01–20.00 rejected, both by webhook to the payer key's URL; above R$20.00 the request
 * itself is refused and nothing is recorded. Sends to a key settle only for efipay@sejaefi.com.br.
 */

const docs = {
  cpf: z
    .string()
    .regex(/^\d{11}$/)
    .optional(),
  cnpj: z
    .string()
    .regex(/^[0-9A-Z]{14}$/)
    .optional(),
};

const sendSchema = z.object({
  valor: z.string().regex(VALOR_PATTERN),
  pagador: z.object({ chave: z.string().min(1).max(77), infoPagador: z.string().max(140).optional() }),
  favorecido: z.union([
    z.object({ chave: z.string().min(1).max(77), ...docs }),
    z.object({
      contaBanco: z.object({
        nome: z.string().min(1).max(200),
        ...docs,
        codigoBanco: z.string().regex(/^\d{8}$/),
        agencia: z.string().regex(/^\d{1,4}$/),
        conta: z.string().regex(/^\d{1,20}$/),
        tipoConta: z.enum(["cacc", "svgs"]),
      }),
    }),
  ]),
});

type Favorecido = z.infer<typeof sendSchema>["favorecido"];

/** The flag set by `POST /sandbox/pix-sends/fail-next`: the next send is rejected with this motivo. */
export const FAIL_NEXT_SEND = "fail_next_send";

export const pixSendRoutes = new Hono<SandboxEnv>();

async function sendPix(c: Context<SandboxEnv>) {
  const deps: Deps = c.get("deps");
  const idEnvio = checkParam("idEnvio", c.req.param("idEnvio") ?? "", ID_ENVIO_PATTERN);
  const input = await parseBody(c, sendSchema);
  const valorCents = parseValor(input.valor);
  if (valorCents <= 0) throw legacy(400, "valor_invalido", "Campo valor deve ser maior que zero");
  if (input.pagador.chave !== deps.pixKey) {
    throw legacy(400, "chave_invalida", "A chave informada não faz referência à conta Efí autenticada");
  }
  if (!(await findWebhook(deps.db, input.pagador.chave))) {
    throw legacy(
      400,
      "webhook_nao_encontrado",
      "A chave do pagador precisa ter um webhook associado para enviar Pix",
    );
  }
  const duplicate = () =>
    legacy(409, "id_envio_duplicado", "O id de envio informado já foi utilizado em outro pagamento");
  if (await findSend(deps.db, idEnvio)) throw duplicate();
  const favorecido: Favorecido = input.favorecido;
  if ("chave" in favorecido && favorecido.chave !== HOMOLOGACAO_FAVORED_KEY && !deps.anyFavoredKey) {
    throw legacy(
      400,
      "chave_invalida",
      `Em homologação, envios por chave só são aceitos para ${HOMOLOGACAO_FAVORED_KEY}`,
    );
  }
  if ("chave" in favorecido) await assertKeyOwner(deps.db, favorecido);
  if (valorCents > 2000) throw legacy(422, "pagamento_negado", "Pagamento negado por análises");

  const now = deps.now();
  const send: SendRow = {
    id_envio: idEnvio,
    e2e_id: newE2eId(now, "send"),
    valor_cents: valorCents,
    pagador_chave: input.pagador.chave,
    info_pagador: input.pagador.infoPagador ?? null,
    favorecido: JSON.stringify(favorecido),
    status: "EM_PROCESSAMENTO",
    solicitacao: now.toISOString(),
    liquidacao: null,
    erro: null,
  };
  try {
    await insertSend(deps.db, send);
  } catch (error) {
    if (error instanceof Error && /UNIQUE constraint failed/.test(error.message)) throw duplicate();
    throw error;
  }
  if (deps.autoSettle) {
    const failMotivo = await takeFlag(deps.db, FAIL_NEXT_SEND);
    c.get("later")(async () => {
      await deps.sleep(deps.settleDelayMs);
      const erro: SendError | null =
        failMotivo !== null
          ? { ...DEFAULT_SEND_ERROR, motivo: failMotivo || DEFAULT_SEND_ERROR.motivo }
          : valorCents > 1000
            ? DEFAULT_SEND_ERROR
            : null;
      const settled = await settleSend(
        deps,
        idEnvio,
        erro ? { status: "NAO_REALIZADO", erro } : { status: "REALIZADO" },
      );
      await settled?.();
    });
  }
  return c.json(
    {
      idEnvio,
      e2eId: send.e2e_id,
      valor: formatValor(valorCents),
      horario: { solicitacao: send.solicitacao },
      status: send.status,
    },
    201,
  );
}

pixSendRoutes.put("/v3/gn/pix/:idEnvio", requireScope("pix.send"), sendPix);
// The July 2024 docs still show v2; the SDKs moved to v3 with the same shapes.
pixSendRoutes.put("/v2/gn/pix/:idEnvio", requireScope("pix.send"), sendPix);

const EFI_IDENTITY = { nome: "EFI S.A. - INSTITUICAO DE PAGAMENTO", cnpj: maskCnpj("09089356000118") };

function favorecidoView(raw: string) {
  const favorecido = JSON.parse(raw) as Favorecido;
  if ("contaBanco" in favorecido) {
    const { cpf, cnpj, ...rest } = favorecido.contaBanco;
    return {
      contaBanco: {
        ...rest,
        ...(cpf ? { cpf: maskCpf(cpf) } : {}),
        ...(cnpj ? { cnpj: maskCnpj(cnpj) } : {}),
      },
    };
  }
  const identificacao = favorecido.cpf
    ? { nome: "Favorecido Sandbox", cpf: maskCpf(favorecido.cpf) }
    : favorecido.cnpj
      ? { nome: "Favorecido Sandbox", cnpj: maskCnpj(favorecido.cnpj) }
      : favorecido.chave === HOMOLOGACAO_FAVORED_KEY
        ? EFI_IDENTITY
        : { nome: "Favorecido Sandbox", cpf: maskCpf("12345678909") };
  return { chave: favorecido.chave, identificacao };
}

function sendView(send: SendRow) {
  return {
    endToEndId: send.e2e_id,
    idEnvio: send.id_envio,
    valor: formatValor(send.valor_cents),
    chave: send.pagador_chave,
    status: send.status,
    ...(send.info_pagador ? { infoPagador: send.info_pagador } : {}),
    horario: { solicitacao: send.solicitacao, ...(send.liquidacao ? { liquidacao: send.liquidacao } : {}) },
    favorecido: favorecidoView(send.favorecido),
  };
}

/** A read of a send lists the money the receiving bank returned on it, like a received Pix's refunds. */
async function sendReadView(db: D1Database, send: SendRow) {
  const returns = await listSendRefunds(db, send.e2e_id);
  return {
    ...sendView(send),
    ...(returns.length
      ? {
          devolucoes: returns.map((r) => ({
            id: r.id,
            rtrId: r.rtr_id,
            valor: formatValor(r.valor_cents),
            horario: { solicitacao: r.horario, liquidacao: r.horario },
            status: "DEVOLVIDO",
          })),
        }
      : {}),
  };
}

/**
 * The Pix sent between `inicio` and `fim` (by request time, both required): `{parametros{inicio,
 * fim, paginacao}, pix[]}`, oldest first, each as a read of the send; paginated like the other
 * lists (`paginacao.paginaAtual` from 0, `paginacao.itensPorPagina` 100 by default).
 */
pixSendRoutes.get("/v2/gn/pix/enviados", requireScope("gn.pix.send.read"), async (c) => {
  const db = c.get("deps").db;
  const from = new Date(c.req.query("inicio") ?? "");
  const to = new Date(c.req.query("fim") ?? "");
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to < from) {
    throw bcb(
      400,
      "ParametroInvalido",
      "Parâmetro inválido",
      "inicio e fim são obrigatórios, com fim >= inicio.",
    );
  }
  const page = Math.max(0, Number(c.req.query("paginacao.paginaAtual") ?? 0) || 0);
  const perPage = Math.min(1000, Math.max(1, Number(c.req.query("paginacao.itensPorPagina") ?? 100) || 100));
  const { results } = await db
    .prepare(
      "SELECT * FROM pix_sends WHERE solicitacao >= ? AND solicitacao <= ? ORDER BY solicitacao, id_envio",
    )
    .bind(from.toISOString(), to.toISOString())
    .all<SendRow>();
  const pix = [];
  for (const send of results.slice(page * perPage, (page + 1) * perPage))
    pix.push(await sendReadView(db, send));
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

pixSendRoutes.get("/v2/gn/pix/enviados/id-envio/:idEnvio", requireScope("gn.pix.send.read"), async (c) => {
  const send = await findSend(c.get("deps").db, c.req.param("idEnvio"));
  if (!send) {
    throw bcb(
      404,
      "PixEnviadoNaoEncontrado",
      "Não Encontrado",
      "Pix enviado não encontrado para o idEnvio informado.",
    );
  }
  return c.json(await sendReadView(c.get("deps").db, send));
});

pixSendRoutes.get("/v2/gn/pix/enviados/:e2eId", requireScope("gn.pix.send.read"), async (c) => {
  const send = await findSendByE2e(c.get("deps").db, c.req.param("e2eId"));
  if (!send) {
    throw bcb(
      404,
      "PixEnviadoNaoEncontrado",
      "Não Encontrado",
      "Pix enviado não encontrado para o e2eId informado.",
    );
  }
  return c.json(await sendReadView(c.get("deps").db, send));
});
