import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { centsToEfi, EFI_AMOUNT_PATTERN, efiToCents, MAX_EFI_CENTS } from "../../src/integrations/efi/money";

describe("centsToEfi and efiToCents: the table", () => {
  it.each([
    [0, "0.00"],
    [1, "0.01"],
    [9, "0.09"],
    [10, "0.10"],
    [99, "0.99"],
    [100, "1.00"],
    [101, "1.01"],
    [1000, "10.00"],
    [1001, "10.01"],
    [1234, "12.34"],
    [1350, "13.50"],
    [123_456_789, "1234567.89"],
    [MAX_EFI_CENTS, "9999999999.99"],
  ])("%i centavos ⇄ %s", (cents, text) => {
    expect(centsToEfi(cents)).toBe(text);
    expect(efiToCents(text)).toBe(cents);
  });

  it("reads leading zeros that the pattern allows", () => {
    expect(efiToCents("00.05")).toBe(5);
    expect(efiToCents("0012.34")).toBe(1234);
  });
});

describe("centsToEfi refuses what is not whole, non-negative, representable centavos", () => {
  it.each([
    ["a negative amount", -1],
    ["a fraction of a centavo", 12.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["more than 10 integer digits", MAX_EFI_CENTS + 1],
    ["an unsafe integer", 2 ** 53],
  ])("%s", (_label, cents) => {
    expect(() => centsToEfi(cents)).toThrow(RangeError);
  });
});

describe("efiToCents accepts only \\d{1,10}.\\d{2}", () => {
  it.each([
    ["one decimal", "12.3"],
    ["three decimals", "12.345"],
    ["no decimals", "12"],
    ["a trailing dot", "12."],
    ["no integer part", ".50"],
    ["a comma", "12,34"],
    ["a thousands separator", "1,234.56"],
    ["a sign", "-1.00"],
    ["a plus sign", "+1.00"],
    ["an exponent", "1e3"],
    ["spaces", " 1.00"],
    ["11 integer digits", "12345678901.00"],
    ["an empty string", ""],
    ["a non-ASCII digit", "١.00"],
  ])("refuses %s: %j", (_label, text) => {
    expect(() => efiToCents(text)).toThrow(RangeError);
  });

  it("refuses a number passed where the wire string belongs", () => {
    expect(() => efiToCents(12.34 as unknown as string)).toThrow(RangeError);
  });
});

describe("round trips (fast-check)", () => {
  it("cents → string → cents is the identity, and the string always matches Efí's pattern", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_EFI_CENTS }), (cents) => {
        const text = centsToEfi(cents);
        expect(text).toMatch(EFI_AMOUNT_PATTERN);
        expect(efiToCents(text)).toBe(cents);
      }),
    );
  });

  it("string → cents → string is the identity for canonical strings (no leading zeros)", () => {
    const canonical = fc
      .tuple(fc.integer({ min: 0, max: 9_999_999_999 }), fc.integer({ min: 0, max: 99 }))
      .map(([reais, centavos]) => `${reais}.${String(centavos).padStart(2, "0")}`);
    fc.assert(
      fc.property(canonical, (text) => {
        expect(centsToEfi(efiToCents(text))).toBe(text);
      }),
    );
  });

  it("differences survive the conversion exactly (no floating-point drift)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 9 }), fc.integer({ min: 1, max: 10 ** 6 }), (a, d) => {
        expect(efiToCents(centsToEfi(a + d)) - efiToCents(centsToEfi(a))).toBe(d);
      }),
    );
  });
});
