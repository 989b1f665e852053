/** CPF and CNPJ check digits, which Efí validates on `devedor` (400 valor_invalido): the same rules as ours. */
export { isValidCnpj, isValidCpf } from "../../../src/lib/documents";

/** A CPF masked as Efí shows a favored party: `***.456.789-**`. */
export function maskCpf(cpf: string): string {
  return `***.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-**`;
}

/** A CNPJ masked the same way: `**.345.678/0001-**`. */
export function maskCnpj(cnpj: string): string {
  return `**.${cnpj.slice(2, 5)}.${cnpj.slice(5, 8)}/${cnpj.slice(8, 12)}-**`;
}
