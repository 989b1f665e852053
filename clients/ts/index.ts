import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, operations, paths } from "./schema";

/** The body of every error reply (`application/problem+json`); branch on its stable `code`. */
export type Problem = components["schemas"]["Problem"];

export type ApiClient = Client<paths>;

export interface ApiClientOptions {
  /** The API's origin, e.g. `https://api.example.com`; paths in calls start with `/v1/...`. */
  baseUrl: string;
  /**
   * Called before every request for the access token to send as `Authorization: Bearer ...`, so
   * an app can hand over a refreshed token without making a new client. No token, no header.
   */
  token?: () => string | null | undefined | Promise<string | null | undefined>;
  /** A fetch to send requests with instead of the global one (tests, instrumentation). */
  fetch?: (request: Request) => Promise<Response>;
}

export function createApiClient({ baseUrl, token, fetch }: ApiClientOptions): ApiClient {
  const options: ClientOptions = { baseUrl };
  if (fetch) options.fetch = fetch;
  const client = createClient<paths>(options);
  if (token) {
    client.use({
      async onRequest({ request }) {
        // A header given on the call itself wins, e.g. another user's token in a support tool.
        if (request.headers.has("authorization")) return request;
        const value = await token();
        if (value) request.headers.set("authorization", `Bearer ${value}`);
        return request;
      },
    });
  }
  return client;
}
