import { errors, jwtVerify, SignJWT } from "jose";
import type { UserRole } from "../db/schema";
import { ApiError } from "./problem";

export interface SigningKey {
  kid: string;
  secret: string;
}

export interface AccessClaims {
  sub: string;
  role: UserRole;
  /** The refresh-token family (the session) this access token belongs to. */
  sid: string;
}

const ISSUER = "mobility-edge-api";
const AUDIENCE = "mobility-apps";
const ALGORITHM = "HS256";
const encoder = new TextEncoder();

/** Signs with the first key; its `kid` goes in the header so keys can rotate. */
export async function signAccessToken(
  keys: SigningKey[],
  claims: AccessClaims,
  ttlSeconds: number,
  nowMs: number,
): Promise<string> {
  const key = keys[0];
  if (!key) throw new Error("no signing key configured");
  const iat = Math.floor(nowMs / 1000);
  // The jti makes every token unique, even two issued in the same second for the same session.
  return new SignJWT({ role: claims.role, sid: claims.sid })
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: "JWT" })
    .setSubject(claims.sub)
    .setJti(crypto.randomUUID())
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(encoder.encode(key.secret));
}

/** Verifies against the key named by `kid`; anything else (alg none, unknown kid) is refused. */
export async function verifyAccessToken(
  keys: SigningKey[],
  token: string,
  nowMs: number,
): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const key = keys.find((k) => k.kid === header.kid);
        if (!key) throw new errors.JWSInvalid("unknown key id");
        return encoder.encode(key.secret);
      },
      {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: new Date(nowMs),
      },
    );
    if (
      typeof payload.sub !== "string" ||
      typeof payload.role !== "string" ||
      typeof payload.sid !== "string"
    ) {
      throw new errors.JWTClaimValidationFailed("missing claims", payload);
    }
    return { sub: payload.sub, role: payload.role as UserRole, sid: payload.sid };
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new ApiError("token_expired");
    throw new ApiError("invalid_token");
  }
}
