// Our ids as Efí's: a txid is 26–35 alphanumerics (`PUT /v2/cob/:txid`) and an idEnvio 1–35
// (`PUT /v3/gn/pix/:idEnvio`).
// Ours are `<prefix>_<26-char ULID>`, so dropping the underscore fits both and maps back.

/** The txid of a payment's Pix charge; each regenerated charge (attempt) gets a new one. */
export function txidOf(paymentId: string, attempt: number): string {
  const txid = `${paymentId.replace("_", "")}a${attempt}`;
  if (!/^[a-zA-Z0-9]{26,35}$/.test(txid)) throw new Error(`payment id ${paymentId} makes no valid txid`);
  return txid;
}

/** The idEnvio of a payout's Pix send, and back. */
export function idEnvioOf(payoutId: string): string {
  return payoutId.replace("_", "");
}

export function payoutIdOf(idEnvio: string): string | null {
  return /^pout[0-9A-HJKMNP-TV-Z]{26}$/.test(idEnvio) ? `pout_${idEnvio.slice(4)}` : null;
}
