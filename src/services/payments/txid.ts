/**
 * The payment a txid belongs to, whatever its attempt (the row holds only the latest txid): a Pix
 * paid against an earlier, regenerated charge is still this payment's. Inverse of `txidOf`.
 */
export function paymentIdOfTxid(txid: string): string | null {
  const match = /^pay([0-9A-HJKMNP-TV-Z]{26})a\d+$/.exec(txid);
  return match ? `pay_${match[1]}` : null;
}
