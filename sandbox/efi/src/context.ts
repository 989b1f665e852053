/** What the sandbox is built from: its options, resolved once into the dependencies every flow uses. */

export type Deliver = (url: string, init: RequestInit) => Promise<Response>;

export interface SandboxOptions {
  /** The sandbox's own D1 database (sandbox/efi/migrations applied). */
  db: D1Database;
  /** Sends webhooks and card notifications; the global `fetch` by default. */
  deliver?: Deliver;
  /** The clock; tests move it to expire tokens and charges. */
  now?: () => Date;
  /** The one application the sandbox accepts (Basic auth on /oauth/token and /v1/authorize). */
  clientId?: string;
  clientSecret?: string;
  /** The account's Pix key: cobs and sends must use it (else 400 chave_invalida). */
  pixKey?: string;
  /** Scopes granted to the application's Pix tokens; all of those the sandbox serves by default. */
  scopes?: string[];
  /**
   * How work after a reply runs (auto-pay, settling sends and refunds, webhook retries):
   * "background" hands it to `waitUntil` (the Worker); "inline" finishes it before the reply is
   * returned, with no waiting between steps, so tests are deterministic.
   */
  mode?: "background" | "inline";
  /** Pay cobs of R$0.01–10.00 by themselves, as Efí's homologação does. Default true. */
  autoPay?: boolean;
  autoPayDelayMs?: number;
  /** Settle Pix sends, refunds and approved card charges by themselves. Default true. */
  autoSettle?: boolean;
  settleDelayMs?: number;
  /** Waits before each webhook retry; its length is the number of retries. */
  retryDelaysMs?: number[];
  /** Per-attempt timeout of a webhook POST (Efí: 60 s). */
  webhookTimeoutMs?: number;
  /** Let Pix sends to any favored key settle (Efí's homologação accepts only efipay@sejaefi.com.br). */
  anyFavoredKey?: boolean;
  /** Host of the payload locations in the BR Code. */
  locationHost?: string;
  /** How the sandbox waits; replaced in tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface Deps {
  db: D1Database;
  deliver: Deliver;
  now: () => Date;
  clientId: string;
  clientSecret: string;
  pixKey: string;
  scopes: string[];
  mode: "background" | "inline";
  autoPay: boolean;
  autoPayDelayMs: number;
  autoSettle: boolean;
  settleDelayMs: number;
  retryDelaysMs: number[];
  webhookTimeoutMs: number;
  anyFavoredKey: boolean;
  locationHost: string;
  sleep: (ms: number) => Promise<void>;
}

/** Every scope a route of the sandbox checks. */
export const ALL_SCOPES = [
  "cob.write",
  "cob.read",
  "pix.write",
  "pix.read",
  "pix.send",
  "gn.pix.send.read",
  "webhook.write",
  "webhook.read",
  "payloadlocation.write",
  "payloadlocation.read",
];

/** Efí's homologação favored key: Pix sends to any other key fail with an invalid-key error. */
export const HOMOLOGACAO_FAVORED_KEY = "efipay@sejaefi.com.br";

export function resolveDeps(options: SandboxOptions): Deps {
  const mode = options.mode ?? "background";
  const inline = mode === "inline";
  return {
    db: options.db,
    deliver: options.deliver ?? ((url, init) => fetch(url, init)),
    now: options.now ?? (() => new Date()),
    clientId: options.clientId ?? "Client_Id_efi_sandbox",
    clientSecret: options.clientSecret ?? "Client_Secret_efi_sandbox",
    pixKey: options.pixKey ?? "5f84a4c5-c5cb-4599-9f13-7eb4d419dacc",
    scopes: options.scopes ?? ALL_SCOPES,
    mode,
    autoPay: options.autoPay ?? true,
    autoPayDelayMs: options.autoPayDelayMs ?? (inline ? 0 : 2000),
    autoSettle: options.autoSettle ?? true,
    settleDelayMs: options.settleDelayMs ?? (inline ? 0 : 2000),
    retryDelaysMs: options.retryDelaysMs ?? (inline ? [0, 0, 0, 0] : [1000, 2000, 4000, 8000]),
    webhookTimeoutMs: options.webhookTimeoutMs ?? 60_000,
    anyFavoredKey: options.anyFavoredKey ?? false,
    locationHost: options.locationHost ?? "qrcodespix-h.sejaefi.com.br",
    sleep:
      options.sleep ?? (inline ? async () => {} : (ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

/** Hono variables of a sandbox request. */
export type SandboxEnv = {
  Variables: {
    deps: Deps;
    /** Work to run after the reply (see `SandboxOptions.mode`). */
    later: (task: () => Promise<void>) => void;
    /** The scopes of the request's Bearer token, once checked. */
    clientId: string;
  };
};
