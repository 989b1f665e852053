/** CPF and CNPJ check digits, which Efí validates on `devedor` (400 valor_invalido). */

export function isValidCpf(cpf: string): boolean {
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

/** CNPJ, including the alphanumeric form BCB v2.9 allows (each character counts as its code − 48). */
export function isValidCnpj(cnpj: string): boolean {
  if (!/^[0-9A-Z]{12}\d{2}$/.test(cnpj) || /^(\d)\1{13}$/.test(cnpj)) return false;
  const values = Array.from(cnpj, (ch) => ch.charCodeAt(0) - 48);
  const check = (length: number) => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += (values[i] ?? 0) * (((length - 1 - i) % 8) + 2);
    const rest = sum % 11;
    return rest < 2 ? 0 : 11 - rest;
  };
  return check(12) === values[12] && check(13) === values[13];
}

/** A CPF masked as Efí shows a favored party: `***.456.789-**`. */
export function maskCpf(cpf: string): string {
  return `***.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-**`;
}

/** A CNPJ masked the same way: `**.345.678/0001-**`. */
export function maskCnpj(cnpj: string): string {
  return `**.${cnpj.slice(2, 5)}.${cnpj.slice(5, 8)}/${cnpj.slice(8, 12)}-**`;
}
