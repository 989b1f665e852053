import { describe, expect, it } from "vitest";
import { hashPassword, PBKDF2_ITERATIONS, verifyPassword } from "../../src/lib/password";

describe("hashPassword / verifyPassword", () => {
  it("verifies the password it hashed", async () => {
    const stored = await hashPassword("correct-horse-42");
    expect(await verifyPassword("correct-horse-42", stored)).toBe(true);
  });

  it("refuses a wrong password, including near misses", async () => {
    const stored = await hashPassword("correct-horse-42");
    expect(await verifyPassword("correct-horse-43", stored)).toBe(false);
    expect(await verifyPassword("Correct-horse-42", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("salts each hash, so the same password hashes differently and both verify", async () => {
    const first = await hashPassword("same-password-1");
    const second = await hashPassword("same-password-1");
    expect(first).not.toBe(second);
    expect(first.split("$")[2]).not.toBe(second.split("$")[2]);
    expect(await verifyPassword("same-password-1", first)).toBe(true);
    expect(await verifyPassword("same-password-1", second)).toBe(true);
  });

  it("stores the scheme, iterations, salt and hash, and honours stored iterations", async () => {
    const stored = await hashPassword("correct-horse-42");
    const [scheme, iterations, salt, hash] = stored.split("$");
    expect(scheme).toBe("pbkdf2-sha256");
    expect(Number(iterations)).toBe(PBKDF2_ITERATIONS);
    expect(salt).toMatch(/^[A-Za-z0-9_-]{22}$/); // 16 bytes, base64url without padding
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 bytes

    // A hash made at a lower cost still verifies: the cost is read from the stored string.
    const cheap = await hashPassword("correct-horse-42", 1_000);
    expect(cheap.split("$")[1]).toBe("1000");
    expect(await verifyPassword("correct-horse-42", cheap)).toBe(true);
    // Changing the stored iteration count changes the derived key, so it no longer matches.
    expect(await verifyPassword("correct-horse-42", cheap.replace("$1000$", "$1001$"))).toBe(false);
  });

  describe.each([
    ["an empty string", () => ""],
    ["plain text", () => "not-a-hash"],
    ["another scheme", (s: string) => s.replace("pbkdf2-sha256", "bcrypt")],
    ["missing the hash", (s: string) => s.split("$").slice(0, 3).join("$")],
    ["an empty salt", (s: string) => s.replace(/\$[^$]+\$([^$]+)$/, "$$$$$1")],
    ["non-numeric iterations", (s: string) => s.replace(/\$\d+\$/, "$$many$$")],
    ["fractional iterations", (s: string) => s.replace(/\$\d+\$/, "$$1.5$$")],
    ["zero iterations", (s: string) => s.replace(/\$\d+\$/, "$$0$$")],
    ["negative iterations", (s: string) => s.replace(/\$\d+\$/, "$$-5$$")],
    ["iterations above the ceiling", (s: string) => s.replace(/\$\d+\$/, "$$100000000$$")],
    ["a salt that is not base64", (s: string) => s.replace(/^([^$]+\$[^$]+\$)[^$]+/, "$1@@@!!")],
    ["a hash that is not base64", (s: string) => s.replace(/[^$]+$/, "%%%%")],
    ["a truncated hash", (s: string) => s.slice(0, -10)],
  ])("a stored string with %s", (_label, corrupt) => {
    it("is refused with false, not an exception", async () => {
      const stored = await hashPassword("correct-horse-42", 1_000);
      const malformed = corrupt(stored);
      expect(malformed).not.toBe(stored);
      await expect(verifyPassword("correct-horse-42", malformed)).resolves.toBe(false);
    });
  });
});
