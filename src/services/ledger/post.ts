import { eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { ledgerAccounts, ledgerEntries, ledgerPostingChecks, ledgerTransactions } from "../../db/schema";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import type { ServiceContext } from "../context";
import { noteMoneyMoved } from "../requests/idempotency";
import { type AccountRef, accountId, enforcesFloor, PLATFORM_OWNER_ID, specOf } from "./accounts";

export interface PostingLine {
  account: AccountRef;
  /**
   * Signed centavos: positive debits the account, negative credits it. Whether the line may take
   * its account below the floor is not the caller's to say: `enforcesFloor` derives it from the
   * account and the posting's kind, and the database refuses a row that claims otherwise.
   */
  amount: number;
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

/** Statements to run in a posting's batch, given the id its transaction will have. */
export type Alongside = BatchItem<"sqlite">[] | ((transactionId: string) => BatchItem<"sqlite">[]);

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
  // Inserted only when missing (INSERT … SELECT … WHERE NOT EXISTS), not ON CONFLICT DO NOTHING:
  // the database refuses any insert of an existing account, since INSERT OR REPLACE would
  // otherwise reset one, and BEFORE INSERT triggers fire even for a row a conflict then skips.
  const statements: BatchItem<"sqlite">[] = [...accounts].map(([id, ref]) => {
    const spec = specOf(ref);
    const ownerId = ref.owner === "driver" ? ref.ownerId : PLATFORM_OWNER_ID;
    const floor = spec.floor === "credit_floor" ? creditFloor : spec.floor;
    return ctx.db.insert(ledgerAccounts).select(
      sql`SELECT ${id}, ${ref.owner}, ${ownerId}, ${ref.kind}, ${spec.normalSide}, 0, 0, ${floor}, ${now}, NULL
             WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts WHERE id = ${id})`,
    );
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
        enforceFloor: enforcesFloor(posting.kind, line.account, line.amount),
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
  alongside: Alongside = [],
): Promise<PostingResult> {
  const transactionId = newId("txn", ctx.now().getTime());
  const statements = await postingStatements(ctx, posting, transactionId);
  const extra = typeof alongside === "function" ? alongside(transactionId) : alongside;
  try {
    await ctx.db.batch([...extra, ...statements] as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    noteMoneyMoved(ctx);
    return { transactionId, replayed: false };
  } catch (error) {
    const replay = await replayOf(ctx, posting, error);
    if (replay) return replay;
    const translated = translateLedgerError(error);
    // A refusal (a floor) moved nothing; any other failure may have committed unseen.
    if (!(translated instanceof ApiError)) noteMoneyMoved(ctx);
    throw translated;
  }
}

/** If the batch failed because the key was posted before, the earlier posting (or a conflict). */
async function replayOf(
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
