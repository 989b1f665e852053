import { and, asc, desc, eq, inArray, lt, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import {
  ledgerAccounts,
  ledgerEntries,
  ledgerPostingChecks,
  ledgerTransactions,
  type NormalSide,
} from "../../db/schema";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";

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

export interface PostingLine {
  account: AccountRef;
  /** Signed centavos: positive debits the account, negative credits it. */
  amount: number;
  /**
   * Whether this line may not take its account below the floor (default true). Only lines that
   * record something that already happened (a cash commission, a clawback) may go into debt.
   * Lines that raise a balance are never refused, whatever this says.
   */
  enforceFloor?: boolean;
}

export interface Posting {
  /** Unique per business event, e.g. `ride:ride_…:payment`. A replay posts nothing. */
  idempotencyKey: string;
  kind: string;
  reference: { type: string; id: string };
  effectiveAt: Date;
  lines: PostingLine[];
  memo?: string;
  reversesId?: string;
}

export interface PostingResult {
  transactionId: string;
  /** True when this key was posted before with the same content: nothing changed now. */
  replayed: boolean;
}

/** Checks that a posting is well formed: whole centavos, at least two lines, summing to zero. */
export function assertBalanced(posting: Posting): void {
  if (posting.lines.length < 2) throw new Error(`posting ${posting.idempotencyKey} needs two lines or more`);
  let sum = 0;
  for (const line of posting.lines) {
    if (!Number.isSafeInteger(line.amount) || line.amount === 0) {
      throw new Error(
        `posting ${posting.idempotencyKey}: amounts are non-zero whole centavos, got ${line.amount}`,
      );
    }
    sum += line.amount;
  }
  if (sum !== 0) throw new Error(`posting ${posting.idempotencyKey} does not balance (sum ${sum})`);
}

/**
 * The statements of one posting, to run in one D1 batch (alone, or together with the change they
 * account for): accounts created if missing, the transaction, its entries (whose trigger moves the
 * cached balances and guards floors), and the closing row whose trigger checks the balance.
 */
export async function postingStatements(ctx: ServiceContext, posting: Posting, transactionId: string) {
  assertBalanced(posting);
  const now = ctx.now().toISOString();
  const effectiveAt = posting.effectiveAt.toISOString();
  const requestHash = await postingHash(posting);
  const accounts = new Map(posting.lines.map((line) => [accountId(line.account), line.account]));
  const creditFloor = await creditFloorCents(ctx, [...accounts.values()]);
  const statements: BatchItem<"sqlite">[] = [...accounts].map(([id, ref]) => {
    const spec = specOf(ref);
    return ctx.db
      .insert(ledgerAccounts)
      .values({
        id,
        ownerType: ref.owner,
        ownerId: ref.owner === "driver" ? ref.ownerId : PLATFORM_OWNER_ID,
        kind: ref.kind,
        normalSide: spec.normalSide,
        floor: spec.floor === "credit_floor" ? creditFloor : spec.floor,
        createdAt: now,
      })
      .onConflictDoNothing();
  });
  statements.push(
    ctx.db.insert(ledgerTransactions).values({
      id: transactionId,
      idempotencyKey: posting.idempotencyKey,
      requestHash,
      kind: posting.kind,
      referenceType: posting.reference.type,
      referenceId: posting.reference.id,
      reversesId: posting.reversesId ?? null,
      effectiveAt,
      createdAt: now,
      memo: posting.memo ?? null,
    }),
    ctx.db.insert(ledgerEntries).values(
      posting.lines.map((line) => ({
        transactionId,
        accountId: accountId(line.account),
        amount: line.amount,
        // Only a line that lowers its account's balance can breach the floor. One that raises it
        // (a release into an available balance in debt, a top-up short of the floor) is never
        // refused: the trigger checks the balance after the entry, not the entry's direction.
        enforceFloor: (line.enforceFloor ?? true) && lowersBalance(line),
        effectiveAt,
        createdAt: now,
      })),
    ),
    ctx.db.insert(ledgerPostingChecks).values({ transactionId }),
  );
  return statements;
}

/**
 * Posts atomically, with `alongside` statements in the same batch (the change the posting
 * accounts for, e.g. a settlement row turning released). Idempotent: a second posting with the
 * same key and content returns the first transaction and changes nothing; with other content
 * it is refused. A floor breach refuses the whole batch with `insufficient_funds`.
 */
export async function post(
  ctx: ServiceContext,
  posting: Posting,
  alongside: BatchItem<"sqlite">[] | ((transactionId: string) => BatchItem<"sqlite">[]) = [],
): Promise<PostingResult> {
  const transactionId = newId("txn", ctx.now().getTime());
  const statements = await postingStatements(ctx, posting, transactionId);
  const extra = typeof alongside === "function" ? alongside(transactionId) : alongside;
  try {
    await ctx.db.batch([...extra, ...statements] as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    return { transactionId, replayed: false };
  } catch (error) {
    const replay = await replayOf(ctx, posting, error);
    if (replay) return replay;
    throw translateLedgerError(error);
  }
}

/** If the batch failed because the key was posted before, the earlier posting (or a conflict). */
export async function replayOf(
  ctx: ServiceContext,
  posting: Posting,
  error: unknown,
): Promise<PostingResult | null> {
  const message = messageOf(error);
  const duplicateKey = message.includes("ledger_transactions.idempotency_key");
  const duplicateReversal = message.includes("ledger_transactions.reverses_id");
  if (!duplicateKey && !duplicateReversal) return null;
  const existing = await ctx.db
    .select({ id: ledgerTransactions.id, requestHash: ledgerTransactions.requestHash })
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.idempotencyKey, posting.idempotencyKey))
    .get();
  if (!existing) {
    if (duplicateReversal)
      throw new Error(`transaction ${posting.reversesId} was already reversed by another posting`);
    return null;
  }
  if (existing.requestHash !== (await postingHash(posting))) {
    throw new Error(`ledger idempotency key ${posting.idempotencyKey} was posted with other content`);
  }
  return { transactionId: existing.id, replayed: true };
}

/** Maps the database's ledger guards to problems; anything else stays an internal error. */
export function translateLedgerError(error: unknown): unknown {
  const message = messageOf(error);
  if (message.includes("ledger_floor_breached")) {
    return new ApiError("insufficient_funds", "The balance does not cover this amount");
  }
  return error;
}

/** A new transaction that undoes `transactionId` line by line (once: a second call replays). */
export async function reverse(
  ctx: ServiceContext,
  transactionId: string,
  options: {
    kind?: string;
    memo?: string;
    enforceFloor?: boolean;
    alongside?: BatchItem<"sqlite">[] | ((transactionId: string) => BatchItem<"sqlite">[]);
  } = {},
): Promise<PostingResult> {
  const original = await ctx.db
    .select()
    .from(ledgerTransactions)
    .where(eq(ledgerTransactions.id, transactionId))
    .get();
  if (!original) throw new Error(`no ledger transaction ${transactionId}`);
  const entries = await ctx.db
    .select({ accountId: ledgerEntries.accountId, amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.transactionId, transactionId))
    .orderBy(asc(ledgerEntries.id))
    .all();
  return post(
    ctx,
    {
      idempotencyKey: `reversal:${transactionId}`,
      kind: options.kind ?? `${original.kind}.reversal`,
      reference: { type: original.referenceType, id: original.referenceId },
      effectiveAt: ctx.now(),
      reversesId: transactionId,
      memo: options.memo,
      lines: entries.map((entry) => ({
        account: refOf(entry.accountId),
        amount: -entry.amount,
        enforceFloor: options.enforceFloor ?? false,
      })),
    },
    options.alongside,
  );
}

export async function balanceOf(ctx: ServiceContext, ref: AccountRef): Promise<number> {
  const row = await ctx.db
    .select({ balance: ledgerAccounts.balance })
    .from(ledgerAccounts)
    .where(eq(ledgerAccounts.id, accountId(ref)))
    .get();
  return row?.balance ?? 0;
}

/** Natural balances of several accounts in one statement; missing accounts are 0. */
export async function balancesOf(ctx: ServiceContext, refs: AccountRef[]): Promise<Map<string, number>> {
  const ids = refs.map(accountId);
  const rows = await ctx.db
    .select({ id: ledgerAccounts.id, balance: ledgerAccounts.balance })
    .from(ledgerAccounts)
    .where(inArray(ledgerAccounts.id, ids))
    .all();
  const found = new Map(rows.map((r) => [r.id, r.balance]));
  return new Map(ids.map((id) => [id, found.get(id) ?? 0]));
}

/** The natural balance of an account counting only entries effective at or before `at`. */
export async function balanceAt(ctx: ServiceContext, ref: AccountRef, at: Date): Promise<number> {
  const spec = specOf(ref);
  const row = await ctx.db
    .select({ sum: sql<number | null>`sum(${ledgerEntries.amount})` })
    .from(ledgerEntries)
    .where(and(eq(ledgerEntries.accountId, accountId(ref)), lte(ledgerEntries.effectiveAt, at.toISOString())))
    .get();
  const raw = row?.sum ?? 0;
  return spec.normalSide === "debit" ? raw : -raw;
}

/** An account's statement lines, newest first, with the transaction each belongs to. */
export async function entriesOf(
  ctx: ServiceContext,
  refs: AccountRef[],
  page: { limit: number; cursor?: number },
) {
  const ids = refs.map(accountId);
  const rows = await ctx.db
    .select({
      id: ledgerEntries.id,
      accountId: ledgerEntries.accountId,
      amount: ledgerEntries.amount,
      effectiveAt: ledgerEntries.effectiveAt,
      createdAt: ledgerEntries.createdAt,
      transactionId: ledgerTransactions.id,
      kind: ledgerTransactions.kind,
      referenceType: ledgerTransactions.referenceType,
      referenceId: ledgerTransactions.referenceId,
      memo: ledgerTransactions.memo,
    })
    .from(ledgerEntries)
    .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, ledgerEntries.transactionId))
    .where(
      page.cursor === undefined
        ? inArray(ledgerEntries.accountId, ids)
        : and(inArray(ledgerEntries.accountId, ids), lt(ledgerEntries.id, page.cursor)),
    )
    .orderBy(desc(ledgerEntries.id))
    .limit(page.limit + 1)
    .all();
  const items = rows.slice(0, page.limit).map((row) => {
    const ref = refOf(row.accountId);
    const natural = specOf(ref).normalSide === "debit" ? row.amount : -row.amount;
    return { ...row, kind: row.kind, account: ref.kind, naturalAmount: natural };
  });
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last ? last.id : null };
}

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

/** Whether a line moves its account's natural balance down (a debit of a credit-normal account…). */
function lowersBalance(line: PostingLine): boolean {
  return specOf(line.account).normalSide === "debit" ? line.amount < 0 : line.amount > 0;
}

function specOf(ref: AccountRef): { normalSide: NormalSide; floor: number | "credit_floor" | null } {
  return ref.owner === "driver" ? ACCOUNT_KINDS.driver[ref.kind] : ACCOUNT_KINDS.platform[ref.kind];
}

async function creditFloorCents(ctx: ServiceContext, refs: AccountRef[]): Promise<number | null> {
  if (!refs.some((ref) => ref.owner === "driver" && ref.kind === "credit")) return null;
  const row = await ctx.db.get<{ credit_floor_cents: number }>(
    sql`SELECT credit_floor_cents FROM settlement_config WHERE id = 1`,
  );
  return row?.credit_floor_cents ?? 0;
}

async function postingHash(posting: Posting): Promise<string> {
  const canonical = {
    kind: posting.kind,
    reference: posting.reference,
    reversesId: posting.reversesId ?? null,
    lines: posting.lines
      .map((l) => ({ account: accountId(l.account), amount: l.amount }))
      .sort((a, b) => a.account.localeCompare(b.account) || a.amount - b.amount),
  };
  return sha256Hex(JSON.stringify(canonical));
}

function messageOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" | ");
}
