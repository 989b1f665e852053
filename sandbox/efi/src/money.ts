/** Efí's money strings ("12.34": dot, two decimals, no thousands separator) ↔ integer centavos. */

export const VALOR_PATTERN = /^\d{1,10}\.\d{2}$/;

export function parseValor(valor: string): number {
  if (!VALOR_PATTERN.test(valor)) throw new Error(`not an Efí amount: "${valor}"`);
  const [reais = "0", centavos = "0"] = valor.split(".");
  return Number(reais) * 100 + Number(centavos);
}

export function formatValor(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new Error(`not an amount in centavos: ${cents}`);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}
