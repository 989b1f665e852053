import { decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { type SigningKey, signAccessToken, verifyAccessToken } from "../../src/lib/jwt";
import { ApiError } from "../../src/lib/problem";

const CURRENT: SigningKey = { kid: "k-current", secret: "current-signing-secret-0123456789abcdef" };
const PREVIOUS: SigningKey = { kid: "k-previous", secret: "previous-signing-secret-0123456789abcdef" };
const KEYS = [CURRENT, PREVIOUS];
const CLAIMS = { sub: "usr_01TEST", role: "driver", sid: "fam_01TEST" } as const;
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const TTL = 900;

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

async function expectRefused(promise: Promise<unknown>, code: "invalid_token" | "token_expired") {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).code).toBe(code);
  expect((error as ApiError).status).toBe(401);
}

function forge(options: { iss?: string; aud?: string; exp?: number; claims?: Record<string, unknown> } = {}) {
  const iat = Math.floor(NOW / 1000);
  return new SignJWT(options.claims ?? { role: CLAIMS.role, sid: CLAIMS.sid })
    .setProtectedHeader({ alg: "HS256", kid: CURRENT.kid, typ: "JWT" })
    .setSubject(CLAIMS.sub)
    .setIssuer(options.iss ?? "mobility-edge-api")
    .setAudience(options.aud ?? "mobility-apps")
    .setIssuedAt(iat)
    .setExpirationTime(options.exp ?? iat + TTL)
    .sign(new TextEncoder().encode(CURRENT.secret));
}

describe("signAccessToken / verifyAccessToken", () => {
  it("round-trips the claims and names the signing key in the header", async () => {
    const token = await signAccessToken(KEYS, CLAIMS, TTL, NOW);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", kid: "k-current", typ: "JWT" });
    expect(await verifyAccessToken(KEYS, token, NOW + 60_000)).toEqual(CLAIMS);
  });

  it("sets iat and exp from the given clock and lifetime", async () => {
    const token = await signAccessToken(KEYS, CLAIMS, TTL, NOW);
    const payload = JSON.parse(atob((token.split(".")[1] ?? "").replaceAll("-", "+").replaceAll("_", "/")));
    expect(payload).toMatchObject({
      sub: CLAIMS.sub,
      role: CLAIMS.role,
      sid: CLAIMS.sid,
      iss: "mobility-edge-api",
      aud: "mobility-apps",
      iat: NOW / 1000,
      exp: NOW / 1000 + TTL,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it("gives each token a unique id, so two tokens issued in the same second differ", async () => {
    const first = await signAccessToken(KEYS, CLAIMS, TTL, NOW);
    const second = await signAccessToken(KEYS, CLAIMS, TTL, NOW);
    expect(first).not.toBe(second);
    expect(await verifyAccessToken(KEYS, second, NOW)).toEqual(CLAIMS);
  });

  it("still accepts a token signed with the previous key after rotation", async () => {
    const oldToken = await signAccessToken([PREVIOUS], CLAIMS, TTL, NOW);
    expect(decodeProtectedHeader(oldToken).kid).toBe("k-previous");
    expect(await verifyAccessToken(KEYS, oldToken, NOW)).toEqual(CLAIMS);
  });

  it("refuses a token once its key is retired from the list", async () => {
    const oldToken = await signAccessToken([PREVIOUS], CLAIMS, TTL, NOW);
    await expectRefused(verifyAccessToken([CURRENT], oldToken, NOW), "invalid_token");
  });

  it("refuses a token signed with the wrong secret under a known kid", async () => {
    const impostor = { kid: CURRENT.kid, secret: "attacker-chosen-secret-0123456789abcdef" };
    const token = await signAccessToken([impostor], CLAIMS, TTL, NOW);
    await expectRefused(verifyAccessToken(KEYS, token, NOW), "invalid_token");
  });

  it("refuses a token with an unknown kid", async () => {
    const token = await signAccessToken([{ kid: "k-unknown", secret: CURRENT.secret }], CLAIMS, TTL, NOW);
    await expectRefused(verifyAccessToken(KEYS, token, NOW), "invalid_token");
  });

  it("refuses an unsigned alg:none token", async () => {
    const iat = Math.floor(NOW / 1000);
    const header = b64url({ alg: "none", typ: "JWT", kid: CURRENT.kid });
    const payload = b64url({
      ...CLAIMS,
      iss: "mobility-edge-api",
      aud: "mobility-apps",
      iat,
      exp: iat + TTL,
    });
    await expectRefused(verifyAccessToken(KEYS, `${header}.${payload}.`, NOW), "invalid_token");
  });

  it("refuses a token whose payload was altered after signing", async () => {
    const token = await signAccessToken(KEYS, CLAIMS, TTL, NOW);
    const [header, , signature] = token.split(".");
    const iat = Math.floor(NOW / 1000);
    const payload = b64url({
      ...CLAIMS,
      role: "admin",
      iss: "mobility-edge-api",
      aud: "mobility-apps",
      iat,
      exp: iat + TTL,
    });
    await expectRefused(verifyAccessToken(KEYS, `${header}.${payload}.${signature}`, NOW), "invalid_token");
  });

  it("answers token_expired once the lifetime has passed", async () => {
    const token = await signAccessToken(KEYS, CLAIMS, TTL, NOW);
    expect(await verifyAccessToken(KEYS, token, NOW + (TTL - 1) * 1000)).toEqual(CLAIMS);
    await expectRefused(verifyAccessToken(KEYS, token, NOW + TTL * 1000), "token_expired");
    await expectRefused(verifyAccessToken(KEYS, token, NOW + 3_600_000), "token_expired");
  });

  describe.each([
    ["a wrong issuer", { iss: "someone-else" }],
    ["a wrong audience", { aud: "other-apps" }],
    ["no sid claim", { claims: { role: "driver" } }],
    ["no role claim", { claims: { sid: "fam_01TEST" } }],
  ])("a correctly signed token with %s", (_label, options) => {
    it("is refused as invalid_token", async () => {
      const token = await forge(options);
      await expectRefused(verifyAccessToken(KEYS, token, NOW), "invalid_token");
    });
  });

  it("accepts the forged-token helper's control case, so the cases above fail only for their reason", async () => {
    expect(await verifyAccessToken(KEYS, await forge(), NOW)).toEqual(CLAIMS);
  });

  describe.each([
    ["an empty string", ""],
    ["garbage", "not.a.jwt"],
    ["two segments", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"],
  ])("%s", (_label, token) => {
    it("is refused as invalid_token", async () => {
      await expectRefused(verifyAccessToken(KEYS, token, NOW), "invalid_token");
    });
  });
});
