import type { PixKeyType } from "../lib/pix-keys";

/** What the payout service hands a rail: money already moved to `payouts_in_transit`. */
export interface PayoutRailRequest {
  /** Our payout id; a rail derives its own idempotent id from it (Efí's `idEnvio`). */
  payoutId: string;
  amountCents: number;
  /** Normalised (see `parsePixKey`). */
  pixKey: string;
  pixKeyType: PixKeyType;
  /** The driver's CPF: the provider refuses a key that belongs to anyone else. */
  favoredCpf?: string;
}

export type PayoutOutcome = { status: "paid" } | { status: "failed"; reason: string };

export interface PayoutRailReceipt {
  /** The rail's id for the transfer, stored as `payouts.rail_reference`. */
  reference: string;
  /**
   * Set when the rail already knows the result (a local rail; a send the provider refused in the
   * request itself). Absent when the result comes later: the rail's webhook handler then calls
   * `completePayout` with it.
   */
  outcome?: PayoutOutcome;
}

/**
 * Sends money by Pix. The composition root (`createServiceContext`) picks the implementation;
 * tests may swap their own. `send` throws only when the outcome is unknown (the request may or
 * may not have reached the provider): the payout then stays in transit until the rail reports.
 */
export interface PayoutRail {
  /** Stored as `payouts.rail`. */
  readonly name: string;
  send(request: PayoutRailRequest): Promise<PayoutRailReceipt>;
}

/** The Pix key on which `LocalPayoutRail` fails a payout, so dev and tests can exercise failure. */
export const LOCAL_RAIL_FAILING_KEY = "fail@pix.test";

/**
 * The rail for development and tests until the Efí rail lands: no money moves, the payout is
 * confirmed at once, except to the key `fail@pix.test`, which fails ("recipient refused"). It
 * refuses to run outside development and test, where a "paid" that sent nothing would be a lie: there the send
 * throws and the payout waits in transit, the money held, until a real rail settles it.
 */
export class LocalPayoutRail implements PayoutRail {
  readonly name = "local";

  constructor(private readonly appEnv: string) {}

  async send(request: PayoutRailRequest): Promise<PayoutRailReceipt> {
    if (this.appEnv !== "development" && this.appEnv !== "test") {
      throw new Error(
        "LocalPayoutRail does not send money; configure a real payout rail outside development",
      );
    }
    const reference = `local_${request.payoutId}`;
    if (request.pixKey === LOCAL_RAIL_FAILING_KEY) {
      return { reference, outcome: { status: "failed", reason: "recipient_refused" } };
    }
    return { reference, outcome: { status: "paid" } };
  }
}
