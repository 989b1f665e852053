import { describe, expect, it } from "vitest";
import {
  addBusinessDays,
  businessDateOf,
  isBusinessDay,
  startOfBusinessDate,
} from "../../src/lib/business-days";

const HOLIDAYS = ["2026-11-20", "2026-12-25", "2027-01-01"];

describe("business dates in São Paulo", () => {
  it("the São Paulo date of an instant is not the UTC date before 03:00 UTC", () => {
    expect(businessDateOf(new Date("2026-11-27T02:30:00Z"))).toBe("2026-11-26");
    expect(businessDateOf(new Date("2026-11-27T03:00:00Z"))).toBe("2026-11-27");
  });

  it("a business date starts at its São Paulo midnight, 03:00 UTC", () => {
    expect(startOfBusinessDate("2026-11-27").toISOString()).toBe("2026-11-27T03:00:00.000Z");
    expect(startOfBusinessDate("2027-01-01").toISOString()).toBe("2027-01-01T03:00:00.000Z");
    expect(businessDateOf(startOfBusinessDate("2026-12-25"))).toBe("2026-12-25");
    expect(businessDateOf(new Date(startOfBusinessDate("2026-12-25").getTime() - 1))).toBe("2026-12-24");
    expect(() => startOfBusinessDate("not-a-date")).toThrow(/not a date/);
  });

  it("weekends and configured holidays are not business days", () => {
    expect(isBusinessDay("2026-11-27", HOLIDAYS)).toBe(true); // Friday
    expect(isBusinessDay("2026-11-28", HOLIDAYS)).toBe(false); // Saturday
    expect(isBusinessDay("2026-11-29", HOLIDAYS)).toBe(false); // Sunday
    expect(isBusinessDay("2026-12-25", new Set(HOLIDAYS))).toBe(false);
  });
});

describe("D+N", () => {
  it.each([
    // [from, n, expected, why]
    ["2026-11-27", 2, "2026-12-01", "Friday + 2 → Tuesday"],
    ["2026-11-26", 1, "2026-11-27", "Thursday + 1 → Friday"],
    ["2026-12-24", 1, "2026-12-28", "Thursday + 1 skips the 25th holiday and the weekend"],
    ["2026-12-23", 2, "2026-12-28", "Wednesday + 2: 24th, (25th holiday), 28th"],
    ["2026-12-31", 1, "2027-01-04", "New Year's Day and the weekend skipped"],
    ["2026-11-19", 1, "2026-11-23", "Consciência Negra (Friday the 20th) skipped"],
    ["2026-11-28", 0, "2026-11-30", "n = 0 on a Saturday → Monday"],
    ["2026-11-27", 0, "2026-11-27", "n = 0 on a business day → the day itself"],
    ["2026-12-25", 0, "2026-12-28", "n = 0 on a holiday Friday → Monday"],
    ["2026-11-28", 2, "2026-12-01", "Saturday + 2 → Tuesday"],
  ])("%s + %i → %s (%s)", (from, n, expected) => {
    expect(addBusinessDays(from, n, HOLIDAYS)).toBe(expected);
  });

  it("without the holiday list, a holiday counts as a business day", () => {
    expect(addBusinessDays("2026-12-24", 1, [])).toBe("2026-12-25");
  });
});
