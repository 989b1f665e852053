// Brazilian taxpayer documents: check digits by the Receita Federal rules. Shared by the API,
// the Pix-key validation and the Efí sandbox (which validates `devedor` as Efí does).

/** CPF: 11 digits, the last two check digits computed mod 11. */
export function normalizeCpf(input: string): string {
  return input.replace(/[.\-\s]/g, "");
}

export function isValidCpf(input: string): boolean {
  const cpf = normalizeCpf(input);
  if (!/^\d{11}$/.test(cpf) || /^(\d)\1{10}$/.test(cpf)) return false;
  const digits = Array.from(cpf, Number);
  const check = (length: number) => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += (digits[i] ?? 0) * (length + 1 - i);
    const rest = (sum * 10) % 11;
    return rest === 10 ? 0 : rest;
  };
  return check(9) === digits[9] && check(10) === digits[10];
}

/**
 * CNPJ: 12 characters and two check digits, mod 11 with weights 2…9 from the right. From July
 * 2026 the 12 characters may be letters: each counts as its char code − 48, which for digits is
 * the digit itself, so one rule serves old and new numbers.
 */
export function isValidCnpj(input: string): boolean {
  const cnpj = input.replace(/[.\-/\s]/g, "").toUpperCase();
  if (!/^[0-9A-Z]{12}\d{2}$/.test(cnpj) || /^(\d)\1{13}$/.test(cnpj)) return false;
  const values = Array.from(cnpj, (ch) => ch.charCodeAt(0) - 48);
  const check = (length: number) => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += (values[length - 1 - i] ?? 0) * ((i % 8) + 2);
    const rest = sum % 11;
    return rest < 2 ? 0 : 11 - rest;
  };
  return check(12) === values[12] && check(13) === values[13];
}
