// Efí writes money as a string of reais with exactly two decimals ("12.34"), dot as the separator,
// no thousands separator, at most 10 integer digits (`\d{1,10}\.\d{2}`). Everything else in the
// code base counts integer centavos. This file is the only place where one becomes the other, and
// it does so on strings: no floating point ever touches an amount.

/** The amount pattern of Efí's and the Central Bank's API (`valor`, `valor.original`). */
export const EFI_AMOUNT_PATTERN = /^\d{1,10}\.\d{2}$/;

/** The largest amount the wire format can carry: R$ 9.999.999.999,99. */
export const MAX_EFI_CENTS = 999_999_999_999;

/** 1234 → "12.34", 5 → "0.05", 0 → "0.00". Refuses negatives, fractions and anything too large. */
export function centsToEfi(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0 || cents > MAX_EFI_CENTS) {
    throw new RangeError(`an Efí amount needs whole centavos from 0 to ${MAX_EFI_CENTS}, got ${cents}`);
  }
  const digits = String(cents).padStart(3, "0");
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** "12.34" → 1234. Anything that is not exactly `\d{1,10}\.\d{2}` throws (no "12.3", "1,00", "1e3"). */
export function efiToCents(amount: string): number {
  if (typeof amount !== "string" || !EFI_AMOUNT_PATTERN.test(amount)) {
    throw new RangeError(`not an Efí amount (\\d{1,10}.\\d{2}): ${JSON.stringify(amount)}`);
  }
  // "0012.34" → "001234" → 1234: the two decimals are the centavos, so dropping the dot is exact.
  return Number(amount.replace(".", ""));
}

/** Whether `amount` is a well-formed Efí amount string. */
export function isEfiAmount(amount: unknown): amount is string {
  return typeof amount === "string" && EFI_AMOUNT_PATTERN.test(amount);
}
