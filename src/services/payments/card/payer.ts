import { eq } from "drizzle-orm";
import { users } from "../../../db/schema";
import type { CardBillingAddress, CardCustomer } from "../../../integrations/card/provider";
import { decryptText } from "../../../lib/crypto";
import type { ServiceContext } from "../../context";

// Who pays: the customer data Efí's card API requires.

/**
 * Not collected by the app yet: Efí's one-step charge requires the payer's birth date and a
 * billing address. Outside production these placeholders are sent (a public square in São Paulo,
 * not anyone's address); in production a charge is refused as `customer_data_incomplete` until
 * the app collects both. They are never stored and never presented as the passenger's data.
 */
export const DEV_PLACEHOLDER_BIRTH_DATE = "1990-01-01";
export const DEV_PLACEHOLDER_BILLING_ADDRESS: CardBillingAddress = {
  street: "Praça da Sé",
  number: "1",
  neighborhood: "Sé",
  zipcode: "01001000",
  city: "São Paulo",
  state: "SP",
};

/** The payer's customer data for a charge, or which part of it is missing. */
export async function cardPayer(
  ctx: ServiceContext,
  userId: string,
): Promise<{ customer: CardCustomer; billingAddress: CardBillingAddress } | { missing: string }> {
  const user = await ctx.db
    .select({ name: users.name, email: users.email, phone: users.phone, cpfCiphertext: users.cpfCiphertext })
    .from(users)
    .where(eq(users.id, userId))
    .get();
  if (!user) return { missing: "user" };
  if (!user.cpfCiphertext) return { missing: "cpf" };
  if (ctx.config.APP_ENV === "production") return { missing: "birth_date, billing_address" };
  const cpf = (await decryptText(ctx.config.CPF_ENCRYPTION_KEY, user.cpfCiphertext)).replace(/\D/g, "");
  return {
    customer: {
      name: user.name,
      cpf,
      email: user.email,
      phone: user.phone,
      birthDate: DEV_PLACEHOLDER_BIRTH_DATE,
    },
    billingAddress: DEV_PLACEHOLDER_BILLING_ADDRESS,
  };
}
