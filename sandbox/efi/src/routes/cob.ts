import { Hono } from "hono";
import { z } from "zod";
import { requireScope } from "../auth";
import type { Deps, SandboxEnv } from "../context";
import { isValidCnpj, isValidCpf } from "../documents";
import { checkParam, jsonInvalido, legacy, parseBody, type SchemaError } from "../errors";
import { brCodeFor, cobView, payCob } from "../flows";
import { newTxid, randomHex, TXID_PATTERN } from "../ids";
import { parseValor, VALOR_PATTERN } from "../money";
import { qrPngDataUri } from "../qr-image";
import { type CobRow, findCob, findLocation, insertCob, insertLocation, listCobs, updateCob } from "../store";

/** Immediate charges (`/v2/cob`) and payload locations (`/v2/loc`). */

const devedorSchema = z.object({
  cpf: z
    .string()
    .regex(/^\d{11}$/)
    .optional(),
  cnpj: z
    .string()
    .regex(/^[0-9A-Z]{14}$/)
    .optional(),
  nome: z.string().max(200).optional(),
});

const cobFields = {
  calendario: z.object({ expiracao: z.number().int().optional() }),
  devedor: devedorSchema.optional(),
  loc: z.object({ id: z.number().int() }).optional(),
  valor: z.object({ original: z.string().regex(VALOR_PATTERN) }),
  chave: z.string().min(1).max(77),
  solicitacaoPagador: z.string().max(140).optional(),
  infoAdicionais: z
    .array(z.object({ nome: z.string().max(50), valor: z.string().max(200) }))
    .max(50)
    .optional(),
};

const createSchema = z.object(cobFields);

const patchSchema = z.object({
  calendario: cobFields.calendario.optional(),
  devedor: cobFields.devedor,
  loc: cobFields.loc,
  valor: cobFields.valor.optional(),
  chave: cobFields.chave.optional(),
  solicitacaoPagador: cobFields.solicitacaoPagador,
  infoAdicionais: cobFields.infoAdicionais,
  status: z.enum(["REMOVIDA_PELO_USUARIO_RECEBEDOR"]).optional(),
});

type CobInput = Partial<z.infer<typeof createSchema>>;

const NOT_FOUND = () =>
  legacy(400, "cobranca_nao_encontrada", "Nenhuma cobrança encontrada para o txid informado");
const LOCATION_NOT_FOUND = () =>
  legacy(400, "location_nao_encontrada", "Nenhuma location encontrado para o identificador informado");

/** The rules Efí checks after the schema: positive amounts, CPF/CNPJ check digits, the account's key. */
function checkSemantics(deps: Deps, input: CobInput) {
  const devedor = input.devedor;
  if (devedor) {
    const erros: SchemaError[] = [];
    if (devedor.cpf && devedor.cnpj) {
      erros.push({ chave: "oneOf", caminho: ".body.devedor", mensagem: "deve ter cpf ou cnpj, não ambos" });
    }
    if ((devedor.cpf || devedor.cnpj) && !devedor.nome) {
      erros.push({
        chave: "required",
        caminho: ".body.devedor",
        mensagem: "deve ter a propriedade obrigatória nome",
      });
    }
    if (devedor.nome && !devedor.cpf && !devedor.cnpj) {
      erros.push({
        chave: "required",
        caminho: ".body.devedor",
        mensagem: "deve ter a propriedade obrigatória cpf",
      });
    }
    if (erros.length) throw jsonInvalido(erros);
  }
  const expiracao = input.calendario?.expiracao;
  if (expiracao !== undefined && expiracao < 1) {
    throw legacy(400, "valor_invalido", "Campo calendario.expiracao deve ser maior que zero");
  }
  if (input.valor && parseValor(input.valor.original) <= 0) {
    throw legacy(400, "valor_invalido", "Campo valor.original deve ser maior que zero");
  }
  if (devedor?.cpf && !isValidCpf(devedor.cpf)) {
    throw legacy(400, "valor_invalido", "Documento CPF em devedor.cpf é inválido");
  }
  if (devedor?.cnpj && !isValidCnpj(devedor.cnpj)) {
    throw legacy(400, "valor_invalido", "Documento CNPJ em devedor.cnpj é inválido");
  }
  if (input.chave !== undefined && input.chave !== deps.pixKey) {
    throw legacy(400, "chave_invalida", "A chave informada não faz referência à conta Efí autenticada");
  }
}

async function newLocation(deps: Deps, tipoCob: "cob" | "cobv") {
  const token = randomHex(32);
  const path = tipoCob === "cobv" ? `v2/cobv/${token}` : `v2/${token}`;
  return insertLocation(deps.db, {
    token,
    tipo_cob: tipoCob,
    location: `${deps.locationHost}/${path}`,
    criacao: deps.now().toISOString(),
  });
}

/** A location named in the body: it must exist, be for cob, and be free (or already this txid's). */
async function chosenLocation(deps: Deps, id: number, txid: string) {
  const loc = await findLocation(deps.db, id);
  if (loc?.tipo_cob !== "cob") throw LOCATION_NOT_FOUND();
  if (loc.txid && loc.txid !== txid) {
    throw legacy(400, "valor_invalido", "A location informada já está vinculada a outra cobrança");
  }
  return loc;
}

const isUniqueViolation = (error: unknown) =>
  error instanceof Error && /UNIQUE constraint failed/.test(error.message);

export const cobRoutes = new Hono<SandboxEnv>();

async function createCob(
  deps: Deps,
  txid: string,
  input: z.infer<typeof createSchema>,
  later: (t: () => Promise<void>) => void,
) {
  checkSemantics(deps, input);
  const duplicate = () =>
    legacy(409, "txid_duplicado", "Campo txid informado já foi utilizado em outra cobrança");
  if (await findCob(deps.db, txid)) throw duplicate();
  const loc = input.loc ? await chosenLocation(deps, input.loc.id, txid) : await newLocation(deps, "cob");
  const now = deps.now().toISOString();
  const cob: CobRow = {
    txid,
    revisao: 0,
    status: "ATIVA",
    criacao: now,
    expiracao: input.calendario.expiracao ?? 86400,
    valor_cents: parseValor(input.valor.original),
    chave: input.chave,
    devedor: input.devedor ? JSON.stringify(input.devedor) : null,
    solicitacao_pagador: input.solicitacaoPagador ?? null,
    info_adicionais: input.infoAdicionais ? JSON.stringify(input.infoAdicionais) : null,
    loc_id: loc.id,
    updated_at: now,
  };
  try {
    if (!(await insertCob(deps.db, cob))) {
      throw legacy(400, "valor_invalido", "A location informada já está vinculada a outra cobrança");
    }
  } catch (error) {
    if (isUniqueViolation(error)) throw duplicate();
    throw error;
  }
  // Homologação: cobs of R$0.01–10.00 are paid by themselves shortly after, with a webhook.
  if (deps.autoPay && cob.valor_cents <= 1000) {
    later(async () => {
      await deps.sleep(deps.autoPayDelayMs);
      const paid = await payCob(deps, txid);
      if (paid.ok) await paid.notify();
    });
  }
  return cobView(deps, cob, { ...loc, txid });
}

cobRoutes.put("/v2/cob/:txid", requireScope("cob.write"), async (c) => {
  const txid = checkParam("txid", c.req.param("txid"), TXID_PATTERN);
  const input = await parseBody(c, createSchema);
  return c.json(await createCob(c.get("deps"), txid, input, c.get("later")), 201);
});

cobRoutes.post("/v2/cob", requireScope("cob.write"), async (c) => {
  const input = await parseBody(c, createSchema);
  return c.json(await createCob(c.get("deps"), newTxid(), input, c.get("later")), 201);
});

cobRoutes.patch("/v2/cob/:txid", requireScope("cob.write"), async (c) => {
  const deps = c.get("deps");
  const input = await parseBody(c, patchSchema);
  checkSemantics(deps, input);
  const cob = await findCob(deps.db, c.req.param("txid"));
  if (!cob) throw NOT_FOUND();
  const notActive = () =>
    legacy(400, "status_cobranca_invalido", "A cobrança não está mais com o status ATIVA");
  if (cob.status !== "ATIVA") throw notActive();
  if (input.loc && input.loc.id !== cob.loc_id) {
    throw legacy(400, "valor_invalido", "O sandbox não troca a location de uma cobrança existente");
  }
  const revised: CobRow = {
    ...cob,
    revisao: cob.revisao + 1,
    status: input.status ?? cob.status,
    expiracao: input.calendario?.expiracao ?? cob.expiracao,
    valor_cents: input.valor ? parseValor(input.valor.original) : cob.valor_cents,
    chave: input.chave ?? cob.chave,
    devedor: input.devedor ? JSON.stringify(input.devedor) : cob.devedor,
    solicitacao_pagador: input.solicitacaoPagador ?? cob.solicitacao_pagador,
    info_adicionais: input.infoAdicionais ? JSON.stringify(input.infoAdicionais) : cob.info_adicionais,
    updated_at: deps.now().toISOString(),
  };
  if (!(await updateCob(deps.db, revised, cob.revisao))) throw notActive();
  const loc = await findLocation(deps.db, cob.loc_id);
  if (!loc) throw LOCATION_NOT_FOUND();
  return c.json(await cobView(deps, revised, loc), 200);
});

cobRoutes.get("/v2/cob/:txid", requireScope("cob.read"), async (c) => {
  const deps = c.get("deps");
  const cob = await findCob(deps.db, c.req.param("txid"));
  if (!cob) throw NOT_FOUND();
  const loc = await findLocation(deps.db, cob.loc_id);
  if (!loc) throw LOCATION_NOT_FOUND();
  return c.json(await cobView(deps, cob, loc));
});

cobRoutes.get("/v2/cob", requireScope("cob.read"), async (c) => {
  const deps = c.get("deps");
  const inicio = c.req.query("inicio");
  const fim = c.req.query("fim");
  const missing = [!inicio && "inicio", !fim && "fim"].filter(Boolean) as string[];
  if (missing.length || !inicio || !fim) {
    throw jsonInvalido(
      missing.map((name) => ({
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
  const rows = await listCobs(deps.db, from.toISOString(), to.toISOString(), c.req.query("status"));
  const slice = rows.slice(page * perPage, (page + 1) * perPage);
  const cobs = [];
  for (const cob of slice) {
    const loc = await findLocation(deps.db, cob.loc_id);
    if (loc) cobs.push(await cobView(deps, cob, loc));
  }
  return c.json({
    parametros: {
      inicio: from.toISOString(),
      fim: to.toISOString(),
      paginacao: {
        paginaAtual: page,
        itensPorPagina: perPage,
        quantidadeDePaginas: Math.ceil(rows.length / perPage),
        quantidadeTotalDeItens: rows.length,
      },
    },
    cobs,
  });
});

const locSchema = z.object({ tipoCob: z.enum(["cob", "cobv"]) });

cobRoutes.post("/v2/loc", requireScope("payloadlocation.write"), async (c) => {
  const input = await parseBody(c, locSchema);
  const loc = await newLocation(c.get("deps"), input.tipoCob);
  return c.json({ id: loc.id, location: loc.location, tipoCob: loc.tipo_cob, criacao: loc.criacao }, 201);
});

async function locationParam(deps: Deps, raw: string) {
  const id = /^\d{1,15}$/.test(raw) ? Number(raw) : Number.NaN;
  const loc = Number.isSafeInteger(id) ? await findLocation(deps.db, id) : null;
  if (!loc) throw LOCATION_NOT_FOUND();
  return loc;
}

cobRoutes.get("/v2/loc/:id", requireScope("payloadlocation.read"), async (c) => {
  const loc = await locationParam(c.get("deps"), c.req.param("id"));
  return c.json({
    id: loc.id,
    ...(loc.txid ? { txid: loc.txid } : {}),
    location: loc.location,
    tipoCob: loc.tipo_cob,
    criacao: loc.criacao,
  });
});

cobRoutes.get("/v2/loc/:id/qrcode", requireScope("payloadlocation.read"), async (c) => {
  const loc = await locationParam(c.get("deps"), c.req.param("id"));
  const qrcode = brCodeFor(loc.location);
  return c.json({
    qrcode,
    imagemQrcode: await qrPngDataUri(qrcode),
    linkVisualizacao: `https://pix.sejaefi.com.br/${loc.tipo_cob}/pagar/${loc.token}`,
  });
});
