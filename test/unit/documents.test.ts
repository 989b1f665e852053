import { describe, expect, it } from "vitest";
import { isValidCpf, normalizeCpf } from "../../src/lib/documents";

describe("isValidCpf", () => {
  it.each([
    "529.982.247-25",
    "52998224725",
    "111.444.777-35",
    "11144477735",
    "123.456.789-09", // first check digit computes to 10, so it is 0
    "935.411.347-80", // second check digit 0
    " 529.982.247-25 ",
    "529 982 247 25",
  ])("accepts %s", (cpf) => {
    expect(isValidCpf(cpf)).toBe(true);
  });

  it.each([
    ["wrong first check digit", "529.982.247-35"],
    ["wrong second check digit", "529.982.247-26"],
    ["both check digits swapped", "529.982.247-52"],
    ["a changed body digit", "529.982.248-25"],
    ["all zeros", "000.000.000-00"],
    ["all ones", "11111111111"],
    ["all nines", "999.999.999-99"],
    ["ten digits", "5299822472"],
    ["twelve digits", "529982247250"],
    ["empty", ""],
    ["letters", "529.982.24a-25"],
    ["a slash separator", "529/982/247-25"],
  ])("refuses %s (%s)", (_label, cpf) => {
    expect(isValidCpf(cpf)).toBe(false);
  });
});

describe("normalizeCpf", () => {
  it("keeps only the 11 digits of a formatted CPF", () => {
    expect(normalizeCpf("529.982.247-25")).toBe("52998224725");
    expect(normalizeCpf(" 529 982 247 25 ")).toBe("52998224725");
  });
});
