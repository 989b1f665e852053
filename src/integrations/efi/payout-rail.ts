// Payouts by Efí's Pix send (`PUT /v3/gn/pix/:idEnvio`): the PayoutRail the composition root picks unless
// PAYOUT_RAIL = "local". The send's result arrives later, by the Pix webhook (or a read of the
// send by its idEnvio), and the payments queue applies it with `completePayout`.

import type { PayoutOutcome, PayoutRail, PayoutRailReceipt, PayoutRailRequest } from "../payout-rail";
import type { EfiClient } from "./client.ts";
import { EfiError } from "./errors.ts";
import { idEnvioOf } from "./ids.ts";
import type { EfiPixSend } from "./types.ts";

/**
 * Sends a payout with `PUT /v3/gn/pix/:idEnvio`, the idEnvio derived from the payout id (so the
 * client's retries, and a 409 on a retried PUT, can never send twice) and the favored key the
 * payout's Pix key.
 *
 * - 201 `EM_PROCESSAMENTO`: the reference is Efí's e2eId and there is no outcome yet; the
 *   webhook (or `pixSendOutcome` of a read) completes the payout.
 * - A refusal in the request itself (a 4xx: 422 `pagamento_negado`, 400 `chave_invalida`,
 *   `valor_invalido`, `documento_bloqueado`, …): nothing was sent, so the outcome is `failed`
 *   with Efí's code as the reason, and the payout is reversed at once.
 * - No answer, a 5xx, or a 409 `id_envio_duplicado` that the client could not match to our own
 *   earlier try: Efí may hold a send for this payout, so the error is rethrown and the payout
 *   stays in transit with its money held until the webhook, a read, or a person settles it.
 */
export class EfiPayoutRail implements PayoutRail {
  readonly name = "efi";

  constructor(private readonly efi: EfiClient) {}

  async send(request: PayoutRailRequest): Promise<PayoutRailReceipt> {
    const idEnvio = idEnvioOf(request.payoutId);
    let sent: EfiPixSend;
    try {
      sent = await this.efi.sendPix({
        idEnvio,
        amountCents: request.amountCents,
        favoredKey: request.pixKey,
        ...(request.favoredCpf ? { favoredDocument: { cpf: request.favoredCpf } } : {}),
      });
    } catch (error) {
      if (isRefusal(error)) {
        return { reference: idEnvio, outcome: { status: "failed", reason: `efi_${error.code}` } };
      }
      throw error;
    }
    return { reference: sent.e2eId, outcome: pixSendOutcome(sent) };
  }
}

/** An Efí error that says the send was not made: a 4xx other than a duplicate idEnvio. */
function isRefusal(error: unknown): error is EfiError {
  return (
    error instanceof EfiError &&
    !error.outcomeUnknown &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 409
  );
}

/**
 * The payout outcome a Pix send reports: `REALIZADO` paid, `NAO_REALIZADO` failed, and none
 * while `EM_PROCESSAMENTO`. For the webhook consumer and reconciliation, which read the send
 * back from Efí (`getPixSend`) before applying it with `completePayout`.
 */
export function pixSendOutcome(send: Pick<EfiPixSend, "status">, reason?: string): PayoutOutcome | undefined {
  switch (send.status) {
    case "REALIZADO":
      return { status: "paid" };
    case "NAO_REALIZADO":
      return { status: "failed", reason: reason ?? "efi_nao_realizado" };
    default:
      return undefined;
  }
}
