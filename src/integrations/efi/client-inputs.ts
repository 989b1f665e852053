// What callers hand the Pix client (src/integrations/efi/client.ts): amounts in integer centavos,
// ids of our own; the client turns them into Efí's wire format.

export type EfiDebtor = { name: string; cpf: string } | { name: string; cnpj: string };

export interface CreateChargeInput {
  /** Ours, `^[a-zA-Z0-9]{26,35}$`, derived from our payment id so a retry reuses it. */
  txid: string;
  amountCents: number;
  expiresInSeconds: number;
  /** `devedor`: whom the charge is for (optional). */
  debtor?: EfiDebtor;
  /** `solicitacaoPagador`: a line shown to the payer (≤140). */
  payerInfo?: string;
  /** Up to 50 `{nome ≤50, valor ≤200}` pairs shown to the payer. */
  infoAdicionais?: { nome: string; valor: string }[];
}

export interface SendPixInput {
  /** Ours, `^[a-zA-Z0-9]{1,35}$`, derived from our payout id so a retry reuses it. */
  idEnvio: string;
  amountCents: number;
  /** The receiving key. */
  favoredKey: string;
  /** When given, Efí checks that the key belongs to this document (`chave_nao_pertence_ao_documento`). */
  favoredDocument?: { cpf: string } | { cnpj: string };
  /** Our paying key; defaults to the client's `pixKey`. */
  payerKey?: string;
  /** `infoPagador`, a line shown to the receiver. */
  payerInfo?: string;
}

export interface RefundInput {
  /** The received Pix's end-to-end id. */
  e2eId: string;
  /** Ours, `^[a-zA-Z0-9]{1,35}$`. */
  refundId: string;
  amountCents: number;
}
