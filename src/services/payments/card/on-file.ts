import { and, desc, eq, lt } from "drizzle-orm";
import { paymentMethods, users } from "../../../db/schema";
import { newId } from "../../../lib/ids";
import type { PageQuery } from "../../../lib/pagination";
import { pageOf } from "../../../lib/pagination";
import { ApiError } from "../../../lib/problem";
import type { ServiceContext } from "../../context";

// Cards on file: a passenger stores cards as the provider's payment tokens (the card itself
// never reaches us); a completed card ride is charged on the most recent one.

export type CardRow = typeof paymentMethods.$inferSelect;

/** The brands Efí's tokeniser (payment-token-efi) accepts. */
export const CARD_BRANDS = ["visa", "mastercard", "amex", "elo", "hipercard"] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

export interface CardView {
  id: string;
  brand: CardBrand;
  last4: string;
  created_at: string;
}

/** A card on file, as the API shows it: never its payment token. */
function cardView(row: CardRow): CardView {
  // Stored only through addCard, whose input is one of CARD_BRANDS.
  return { id: row.id, brand: row.brand as CardBrand, last4: row.last4, created_at: row.createdAt };
}

/**
 * Stores a tokenised card for a passenger. Efí will not charge a card without the payer's CPF,
 * and the CPF is only collected at registration, so a passenger without one is refused here
 * (`409 cpf_required`) rather than at the end of their first card ride.
 */
export async function addCard(
  ctx: ServiceContext,
  userId: string,
  input: { paymentToken: string; brand: CardBrand; last4: string },
): Promise<CardView> {
  const user = await ctx.db
    .select({ cpfCiphertext: users.cpfCiphertext })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!user) throw new ApiError("not_found", "No such user");
  if (!user.cpfCiphertext) {
    throw new ApiError("cpf_required", "Card payments need the CPF of the account holder");
  }
  const now = ctx.now();
  const row: CardRow = {
    id: newId("pm", now.getTime()),
    userId,
    kind: "card",
    paymentToken: input.paymentToken,
    brand: input.brand,
    last4: input.last4,
    createdAt: now.toISOString(),
  };
  await ctx.db.insert(paymentMethods).values(row);
  return cardView(row);
}

/** The passenger's cards, newest first. */
export async function listCards(ctx: ServiceContext, userId: string, page: PageQuery) {
  const rows = await ctx.db
    .select()
    .from(paymentMethods)
    .where(
      and(eq(paymentMethods.userId, userId), page.cursor ? lt(paymentMethods.id, page.cursor) : undefined),
    )
    .orderBy(desc(paymentMethods.id))
    .limit(page.limit + 1);
  const { items, next_cursor } = pageOf(rows, page.limit);
  return { items: items.map(cardView), next_cursor };
}

/** Whether the user has a card to charge (a card ride needs one): the query, for a caller's batch. */
export function cardOnFileQuery(ctx: ServiceContext, userId: string) {
  return ctx.db
    .select({ id: paymentMethods.id })
    .from(paymentMethods)
    .where(eq(paymentMethods.userId, userId))
    .limit(1);
}

/** The card a ride is charged on: the most recently added. */
export function latestCard(ctx: ServiceContext, userId: string): Promise<CardRow | undefined> {
  return ctx.db
    .select()
    .from(paymentMethods)
    .where(eq(paymentMethods.userId, userId))
    .orderBy(desc(paymentMethods.id))
    .limit(1)
    .get();
}
