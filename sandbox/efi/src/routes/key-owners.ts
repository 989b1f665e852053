import { Hono } from "hono";
import { z } from "zod";
import type { SandboxEnv } from "../context";
import { control, legacy, readJson } from "../errors";
import { setFlag } from "../store";

/**
 * Who owns a Pix key, for the ownership check Efí runs on a send that names the favoured person
 * (`favorecido: {chave, cpf}`): a key recorded here with another CPF is refused with 400
 * `chave_nao_pertence_ao_documento`, as the DICT would. A key nobody recorded passes: the sandbox
 * knows no other owners. Recorded through the sandbox's control API.
 */
export const keyOwnerRoutes = new Hono<SandboxEnv>();

const flagOf = (chave: string) => `pix_key_owner:${chave}`;

/** Records (or replaces) the CPF that owns `chave`. */
keyOwnerRoutes.put("/sandbox/pix-keys/:chave/owner", async (c) => {
  const parsed = z
    .object({ cpf: z.string().regex(/^\d{11}$/, "11 digits") })
    .safeParse(await readJson(c).catch(() => null));
  if (!parsed.success) throw control(400, "invalid_request", 'The body must be {"cpf": "<11 digits>"}');
  const input = parsed.data;
  const chave = c.req.param("chave");
  if (chave.length === 0 || chave.length > 77)
    throw control(400, "invalid_request", "chave: 1 to 77 characters");
  await setFlag(c.get("deps").db, flagOf(chave), input.cpf);
  return c.json({ chave, cpf: input.cpf });
});

/** Throws Efí's refusal when the send names a CPF and the key is recorded with another one. */
export async function assertKeyOwner(
  db: D1Database,
  favorecido: { chave?: string; cpf?: string },
): Promise<void> {
  if (!favorecido.chave || !favorecido.cpf) return;
  const row = await db
    .prepare("SELECT value FROM sandbox_flags WHERE name = ?")
    .bind(flagOf(favorecido.chave))
    .first<{ value: string }>();
  if (row && row.value !== favorecido.cpf) {
    throw legacy(
      400,
      "chave_nao_pertence_ao_documento",
      "A chave informada não pertence ao documento informado",
    );
  }
}
