import type { NormalSide } from "../../db/schema";

/**
 * Every account kind there is, with its normal side and floor. Liabilities (what the platform
 * owes drivers) and revenue are credit-normal; money the platform holds or is owed is debit-normal.
 */
export const ACCOUNT_KINDS = {
  driver: {
    /** Earned, not yet released (D+N). */
    pending: { normalSide: "credit", floor: 0 },
    /** Released, may be paid out. Never negative under normal postings. */
    available: { normalSide: "credit", floor: 0 },
    /** Prepaid credit that cash-ride commissions are taken from; its floor is configured. */
    credit: { normalSide: "credit", floor: "credit_floor" },
  },
  platform: {
    revenue: { normalSide: "credit", floor: null },
    /** Pix received at Efí, until swept into the Efí balance. */
    efi_clearing: { normalSide: "debit", floor: null },
    /** Card charges, until the acquirer settles them. */
    card_clearing: { normalSide: "debit", floor: null },
    /** Money held in the platform's Efí account. */
    efi_balance: { normalSide: "debit", floor: null },
    /** Payouts sent by Pix, until Efí reports them paid or failed. */
    payouts_in_transit: { normalSide: "credit", floor: null },
  },
} as const satisfies Record<
  string,
  Record<string, { normalSide: NormalSide; floor: number | "credit_floor" | null }>
>;

export type AccountRef =
  | { owner: "driver"; ownerId: string; kind: keyof typeof ACCOUNT_KINDS.driver }
  | { owner: "platform"; kind: keyof typeof ACCOUNT_KINDS.platform };

export const PLATFORM_OWNER_ID = "platform";

export function accountId(ref: AccountRef): string {
  return ref.owner === "driver"
    ? `driver:${ref.ownerId}:${ref.kind}`
    : `platform:${PLATFORM_OWNER_ID}:${ref.kind}`;
}

export const driverAccount = (ownerId: string, kind: keyof typeof ACCOUNT_KINDS.driver): AccountRef => ({
  owner: "driver",
  ownerId,
  kind,
});
export const platformAccount = (kind: keyof typeof ACCOUNT_KINDS.platform): AccountRef => ({
  owner: "platform",
  kind,
});

/** The account an id names; throws for an id no account kind matches. */
export function refOf(id: string): AccountRef {
  const [owner, ownerId, kind] = id.split(":");
  if (owner === "driver" && ownerId && kind && kind in ACCOUNT_KINDS.driver) {
    return { owner, ownerId, kind: kind as keyof typeof ACCOUNT_KINDS.driver };
  }
  if (owner === "platform" && kind && kind in ACCOUNT_KINDS.platform) {
    return { owner, kind: kind as keyof typeof ACCOUNT_KINDS.platform };
  }
  throw new Error(`unknown ledger account ${id}`);
}

export function specOf(ref: AccountRef): { normalSide: NormalSide; floor: number | "credit_floor" | null } {
  return ref.owner === "driver" ? ACCOUNT_KINDS.driver[ref.kind] : ACCOUNT_KINDS.platform[ref.kind];
}

/**
 * Whether a line must keep its account at or above the floor. Only a line that lowers its
 * account's natural balance is guarded (one that raises it, such as a release into an available
 * balance in debt, never is), and the only waivers are lines that record something that already
 * happened: anything on a driver's prepaid `credit` (its floor gates accepting rides, not
 * postings), a clawback (`*.clawback`) of `pending` or `available`, a confirmed refund
 * (`payment.refund`) of `available`. Reversals are guarded like any other line.
 *
 * The database derives the same answer in its entry trigger and refuses a row that disagrees,
 * so this copy only has to be right for postings to land.
 */
export function enforcesFloor(transactionKind: string, ref: AccountRef, amount: number): boolean {
  const lowers = specOf(ref).normalSide === "debit" ? amount < 0 : amount > 0;
  if (!lowers) return false;
  if (ref.owner !== "driver") return true;
  if (ref.kind === "credit") return false;
  if (transactionKind.endsWith(".clawback")) return false;
  return !(ref.kind === "available" && transactionKind === "payment.refund");
}
