import { describe, expect, it } from "vitest";
import { isValidCnpj } from "../../src/lib/documents";
import { maskPixKey, parsePixKey } from "../../src/lib/pix-keys";
import { ApiError } from "../../src/lib/problem";

describe("parsePixKey accepts and normalises", () => {
  it.each([
    ["a bare CPF", "52998224725", "cpf", "52998224725"],
    ["a formatted CPF", "529.982.247-25", "cpf", "52998224725"],
    ["a CPF with spaces around", "  111.444.777-35 ", "cpf", "11144477735"],
    ["a CPF whose first check digit is 0", "123.456.789-09", "cpf", "12345678909"],
    ["a bare CNPJ", "11222333000181", "cnpj", "11222333000181"],
    ["a formatted CNPJ", "11.222.333/0001-81", "cnpj", "11222333000181"],
    ["an alphanumeric CNPJ (from July 2026)", "12.ABC.345/01DE-35", "cnpj", "12ABC34501DE35"],
    ["an alphanumeric CNPJ in lowercase", "12abc34501de35", "cnpj", "12ABC34501DE35"],
    ["an e-mail", "motorista@example.com.br", "email", "motorista@example.com.br"],
    ["an e-mail in mixed case", "Motorista.Silva@Example.COM", "email", "motorista.silva@example.com"],
    [
      "an e-mail of exactly 77 characters",
      `${"a".repeat(65)}@example.com`,
      "email",
      `${"a".repeat(65)}@example.com`,
    ],
    ["a mobile phone", "+5511987654321", "phone", "+5511987654321"],
    ["a landline phone (10 digits)", "+551133334444", "phone", "+551133334444"],
    ["a formatted phone", "+55 (11) 98765-4321", "phone", "+5511987654321"],
    ["a random key", "123e4567-e89b-42d3-a456-426614174000", "evp", "123e4567-e89b-42d3-a456-426614174000"],
    [
      "a random key in uppercase",
      "123E4567-E89B-42D3-A456-426614174000",
      "evp",
      "123e4567-e89b-42d3-a456-426614174000",
    ],
  ])("%s", (_label, input, type, normalized) => {
    expect(parsePixKey(input)).toEqual({ type, normalized });
  });
});

describe("parsePixKey refuses", () => {
  it.each([
    ["an empty key", "   "],
    ["a CPF with a wrong check digit", "529.982.247-26"],
    ["a CPF of repeated digits", "111.111.111-11"],
    ["ten digits", "5299822472"],
    ["twelve digits", "529982247250"],
    ["a CNPJ with a wrong check digit", "11.222.333/0001-82"],
    ["a CNPJ of repeated digits", "00000000000000"],
    ["a CNPJ with letters in the check digits", "12ABC34501DE3A"],
    ["an e-mail of 78 characters", `${"a".repeat(66)}@example.com`],
    ["an e-mail without a domain dot", "motorista@localhost"],
    ["an e-mail with two @", "a@b@example.com"],
    ["an e-mail with a space", "moto rista@example.com"],
    ["a phone without +55", "+14155550100"],
    ["a phone with 12 digits", "+55119876543210"],
    ["a phone with 9 digits", "+55119876543"],
    ["an 11-digit phone not starting with 9", "+5511887654321"],
    ["an area code with a zero", "+5501987654321"],
    ["a phone without the plus (11 digits is a CPF, and this one is not valid)", "11987654321"],
    ["a UUID without dashes", "123e4567e89b42d3a456426614174000"],
    ["a UUID with a non-hex character", "123e4567-e89b-42d3-a456-42661417400g"],
    ["a UUID one character short", "123e4567-e89b-42d3-a456-42661417400"],
    ["free text", "minha chave"],
  ])("%s", (_label, input) => {
    const error = (() => {
      try {
        parsePixKey(input);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.code).toBe("invalid_pix_key");
    expect(apiError.status).toBe(422);
    expect(apiError.errors).toEqual([{ path: "pix_key", message: expect.any(String) }]);
  });

  it("names the detected type's problem", () => {
    expect(() => parsePixKey("529.982.247-26")).toThrow(/CPF/);
    expect(() => parsePixKey("11.222.333/0001-82")).toThrow(/CNPJ/);
    expect(() => parsePixKey("+14155550100")).toThrow(/\+55/);
    expect(() => parsePixKey(`${"a".repeat(66)}@example.com`)).toThrow(/77/);
  });
});

describe("isValidCnpj", () => {
  it.each([
    ["11.222.333/0001-81", true],
    ["04.252.011/0001-10", true],
    ["12ABC34501DE35", true],
    ["11.222.333/0001-80", false],
    ["1122233300018", false],
    ["", false],
  ])("%s → %s", (input, valid) => {
    expect(isValidCnpj(input)).toBe(valid);
  });
});

describe("maskPixKey", () => {
  it("shows only the last four characters", () => {
    expect(maskPixKey("52998224725")).toBe("*******4725");
    expect(maskPixKey("fail@pix.test")).toBe("*********test");
    expect(maskPixKey("abcd")).toBe("****");
  });
});
