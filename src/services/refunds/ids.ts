/** Our refund id as Efí's `:id` (`^[a-zA-Z0-9]{1,35}$`): `rfd_01J…` → `rfd01J…`. */
export function efiRefundIdOf(refundId: string): string {
  return refundId.replace("_", "");
}

/** Our refund id from Efí's `:id` of a refund we made (or from our own id); null if not ours. */
export function refundIdOf(id: string): string | null {
  const ulid = "[0-9A-HJKMNP-TV-Z]{26}";
  if (new RegExp(`^rfd_${ulid}$`).test(id)) return id;
  if (new RegExp(`^rfd${ulid}$`).test(id)) return `rfd_${id.slice(3)}`;
  return null;
}
