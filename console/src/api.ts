// The console's only link to the API: same origin, the staff member's access token in memory
// (never in localStorage or a cookie), so a reload signs out and no other page can read it.

export interface Problem {
  title: string;
  detail?: string;
  status: number;
  code?: string;
  errors?: { path: string; message: string }[];
}

export type Reply<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; problem: Problem };

interface Session {
  accessToken: string;
  refreshToken: string;
}

let session: Session | null = null;
let onSignedOut: () => void = () => {};

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export function signedIn(): boolean {
  return session !== null;
}

export async function signIn(email: string, password: string): Promise<Reply<unknown>> {
  const reply = await send<{ access_token: string; refresh_token: string }>("POST", "/v1/auth/login", {
    email,
    password,
  });
  if (reply.ok) session = { accessToken: reply.data.access_token, refreshToken: reply.data.refresh_token };
  return reply;
}

export async function signOut(): Promise<void> {
  const current = session;
  session = null;
  if (current)
    await send("POST", "/v1/auth/logout", { refresh_token: current.refreshToken }, current.accessToken);
  onSignedOut();
}

/** A call with the staff token; an expired token is refreshed once and the call repeated. */
export async function api<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  let reply = await send<T>(method, path, body, session?.accessToken, headers);
  if (!reply.ok && reply.status === 401 && reply.problem.code === "token_expired" && session) {
    const refreshed = await send<{ access_token: string; refresh_token: string }>(
      "POST",
      "/v1/auth/refresh",
      {
        refresh_token: session.refreshToken,
      },
    );
    if (refreshed.ok) {
      session = { accessToken: refreshed.data.access_token, refreshToken: refreshed.data.refresh_token };
      reply = await send<T>(method, path, body, session.accessToken, headers);
    }
  }
  if (!reply.ok && reply.status === 401) {
    session = null;
    onSignedOut();
  }
  return reply;
}

/** The raw text of a reply (CSV), or its problem. */
export async function apiText(path: string, accept: string): Promise<Reply<string>> {
  const response = await fetch(path, {
    headers: { accept, ...(session ? { authorization: `Bearer ${session.accessToken}` } : {}) },
  });
  if (response.ok) return { ok: true, status: response.status, data: await response.text() };
  return { ok: false, status: response.status, problem: await problemOf(response) };
}

async function send<T>(
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  extra: Record<string, string> = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: "application/json", ...extra };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch {
    return { ok: false, status: 0, problem: { status: 0, title: "The API could not be reached" } };
  }
  if (response.ok) {
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    return { ok: true, status: response.status, data: data as T };
  }
  return { ok: false, status: response.status, problem: await problemOf(response) };
}

async function problemOf(response: Response): Promise<Problem> {
  const body = await response.json().catch(() => null);
  if (body && typeof body === "object" && typeof body.title === "string") return body as Problem;
  return { status: response.status, title: `The API answered ${response.status}` };
}
