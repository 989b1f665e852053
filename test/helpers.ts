import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";

export const BASE = "http://api.test";

let counter = 0;
/** A unique suffix per call, so tests make their own users and never depend on each other. */
export function unique(): string {
  counter += 1;
  return `${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
}

/** A different client IP per test user, so per-IP login limits do not couple tests. */
function fakeIp(): string {
  const n = () => Math.floor(Math.random() * 250) + 1;
  return `10.${n()}.${n()}.${n()}`;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: BodyInit;
}

export async function call(method: string, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: BodyInit | undefined = options.raw;
  if (options.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(options.body);
  }
  return readReply(await exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body })));
}

/** The one way tests read a reply: the text as sent, and its JSON when it parses (else undefined). */
export async function readReply(response: Response) {
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

export type Reply = Awaited<ReturnType<typeof readReply>>;

/** Asserts a problem document with the given status and code. */
export function expectProblem(reply: Reply, status: number, code: string) {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get("content-type")).toContain("application/problem+json");
  expect(reply.json).toMatchObject({ status, code, type: `/problems/${code}` });
  expect(typeof reply.json.title).toBe("string");
  expect(typeof reply.json.detail).toBe("string");
}

export const PASSWORD = "s3cure-enough-pass";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: string;
  accessToken: string;
  refreshToken: string;
  ip: string;
}

export async function registerUser(
  role: "passenger" | "driver" = "passenger",
  extra: Record<string, unknown> = {},
): Promise<TestUser> {
  const email = `user-${unique()}@example.com`;
  const ip = fakeIp();
  const reply = await call("POST", "/v1/auth/register", {
    body: { name: "Test User", email, phone: "+5511987654321", password: PASSWORD, role, ...extra },
    headers: { "cf-connecting-ip": ip },
  });
  expect(reply.status, reply.text).toBe(201);
  return {
    id: reply.json.user.id,
    email,
    password: PASSWORD,
    role,
    accessToken: reply.json.access_token,
    refreshToken: reply.json.refresh_token,
    ip,
  };
}

/** Staff accounts are never self-registered: made directly in D1, as `admin:create` does. */
export async function createStaff(role: "admin" | "finance" | "support" | "ops" = "admin") {
  const { hashPassword } = await import("../src/lib/password");
  const id = `usr_STAFF${unique().toUpperCase()}`;
  const email = `${role}-${unique()}@example.com`;
  const now = new Date().toISOString();
  await env.DB.prepare(
    "INSERT INTO users (id, role, status, name, email, phone, password_hash, created_at, updated_at) VALUES (?, ?, 'active', ?, ?, '+5511900000000', ?, ?, ?)",
  )
    .bind(id, role, `Staff ${role}`, email, await hashPassword(PASSWORD), now, now)
    .run();
  const ip = fakeIp();
  const reply = await call("POST", "/v1/auth/login", {
    body: { email, password: PASSWORD },
    headers: { "cf-connecting-ip": ip },
  });
  expect(reply.status, reply.text).toBe(200);
  return {
    id,
    email,
    password: PASSWORD,
    role,
    accessToken: reply.json.access_token as string,
    refreshToken: reply.json.refresh_token as string,
    ip,
  };
}
