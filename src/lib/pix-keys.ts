import { isValidCnpj, isValidCpf } from "./documents";
import { ApiError } from "./problem";

/**
 * Pix keys as the Central Bank's DICT defines them: CPF, CNPJ, e-mail, phone (+55 only: we pay
 * Brazilian accounts) and the random key (EVP, a UUID). Pure functions, no I/O.
 */
export const PIX_KEY_TYPES = ["cpf", "cnpj", "email", "phone", "evp"] as const;
export type PixKeyType = (typeof PIX_KEY_TYPES)[number];

export interface PixKey {
  type: PixKeyType;
  /** The form the rail sends: digits only for CPF and CNPJ, lowercase e-mail and EVP, +55… phone. */
  normalized: string;
}

/** DICT's limit for e-mail keys (and for every key). */
export const MAX_EMAIL_KEY_LENGTH = 77;

const EVP = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** DICT's e-mail pattern (lowercase), without quoted local parts or IP literals. */
const EMAIL =
  /^[a-z0-9.!#$&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
/** +55, a two-digit area code without zeros, then 8 digits (landline) or 9 starting with 9 (mobile). */
const PHONE = /^\+55[1-9]{2}(?:9\d{8}|\d{8})$/;
/** CNPJ separators as people write them: 12.345.678/0001-95. */
const DOCUMENT_SEPARATORS = /[.\-/\s]/g;

/**
 * Detects a Pix key's type and normalises it, or throws `invalid_pix_key` with a field error on
 * `field`. Detection: `@` is an e-mail, a leading `+` a phone, a UUID an EVP; otherwise, without
 * punctuation, 11 digits are a CPF and 14 characters a CNPJ. (A phone must carry +55: eleven bare
 * digits are a CPF, as in the DICT.)
 */
export function parsePixKey(input: string, field = "pix_key"): PixKey {
  const fail = (message: string): never => {
    throw new ApiError("invalid_pix_key", `${field}: ${message}`, { errors: [{ path: field, message }] });
  };
  const raw = input.trim();
  if (raw.length === 0) return fail("is empty");

  if (raw.includes("@")) {
    const email = raw.toLowerCase();
    if (email.length > MAX_EMAIL_KEY_LENGTH) {
      return fail(`an e-mail key has at most ${MAX_EMAIL_KEY_LENGTH} characters`);
    }
    if (!EMAIL.test(email)) return fail("is not a valid e-mail address");
    return { type: "email", normalized: email };
  }

  if (raw.startsWith("+")) {
    const phone = raw.replace(/[\s\-()]/g, "");
    if (!phone.startsWith("+55")) return fail("a phone key must be a Brazilian number starting with +55");
    if (!PHONE.test(phone)) {
      return fail("a phone key is +55, a two-digit area code and an 8- or 9-digit number");
    }
    return { type: "phone", normalized: phone };
  }

  const lower = raw.toLowerCase();
  if (EVP.test(lower)) return { type: "evp", normalized: lower };

  const document = raw.replace(DOCUMENT_SEPARATORS, "").toUpperCase();
  if (/^\d{11}$/.test(document)) {
    if (!isValidCpf(document)) return fail("is not a valid CPF (check digits do not match)");
    return { type: "cpf", normalized: document };
  }
  if (/^[0-9A-Z]{12}\d{2}$/.test(document)) {
    if (!isValidCnpj(document)) return fail("is not a valid CNPJ (check digits do not match)");
    return { type: "cnpj", normalized: document };
  }
  return fail(
    "must be a CPF (11 digits), a CNPJ (14 characters), an e-mail, a +55 phone number or a random key (UUID)",
  );
}

/** A key as shown back to its owner: every character but the last four replaced by `*`. */
export function maskPixKey(key: string): string {
  const visible = 4;
  if (key.length <= visible) return "*".repeat(key.length);
  return `${"*".repeat(key.length - visible)}${key.slice(-visible)}`;
}
