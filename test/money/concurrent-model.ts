import { env } from "cloudflare:workers";
import { expect } from "vitest";
import {
  type AccountRef,
  accountId,
  driverAccount,
  platformAccount,
} from "../../src/services/ledger/accounts";
import type { NotifiedDevolucao } from "./efi-notifications";

// The randomized concurrent walk's model: every balance, payment, refund and payout as the test
// decided them, never read back from the database. Each fact is applied once, whichever path
// (webhook, doubled webhook, late webhook, reconciler) the walk knows has delivered it.

/** Pop (São Paulo) commission: 20 %, half up, at least R$ 1,00, never more than the fare. */
export const commissionOf = (fare: number) =>
  Math.min(fare, Math.max(Math.floor((fare * 2000 + 5000) / 10000), 100));

/** The driver's part of `refunded` of a payment: refunded × share / fare, half up. */
const driverPartOf = (refunded: number, share: number, fare: number) =>
  Math.floor((2 * refunded * share + fare) / (2 * fare));

export interface PaymentModel {
  id: string;
  method: "pix" | "card";
  rideId: string;
  driver: string;
  fare: number;
  commission: number;
  share: number;
  /** The received Pix's end-to-end id (a Pix payment). */
  e2eId: string;
  paid: boolean;
  /** Refunds (ours and MEDs) applied in the ledger. */
  refunded: number;
  /** Refunds asked for or MEDs made at Efí, not applied yet: what they may still take. */
  inFlight: number;
  /** MEDs made at Efí whose notification has not been delivered. */
  medsInFlight: number;
  released: boolean;
}

export interface RefundModel {
  /** Efí's id of the devolução (a Pix refund or MED), or our refund id (a card refund). */
  efiId: string;
  paymentId: string;
  amount: number;
  kind: "ours" | "med";
  /** What Efí settles it as: a refund of R$ 0,01 is rejected by the sandbox. */
  outcome: "DEVOLVIDO" | "NAO_REALIZADO";
  applied: boolean;
}

export interface PayoutModel {
  id: string;
  idEnvio: string;
  driver: string;
  amount: number;
  fee: number;
  /** The sandbox pays a send of up to R$ 10,00 and rejects one of R$ 10,01 to R$ 20,00. */
  outcome: "paid" | "failed";
  resolved: boolean;
  returned: number;
}

export class MoneyModel {
  readonly balances: Map<string, number>;
  readonly payments = new Map<string, PaymentModel>();
  readonly refunds = new Map<string, RefundModel>();
  readonly payouts = new Map<string, PayoutModel>();
  /** Payout returns applied, by rtrId. */
  readonly returns = new Set<string>();

  constructor(baseline: Map<string, number>) {
    this.balances = new Map(baseline);
  }

  static async fromLedger(): Promise<MoneyModel> {
    const { results } = await env.DB.prepare("SELECT id, balance FROM ledger_accounts").all<{
      id: string;
      balance: number;
    }>();
    return new MoneyModel(new Map(results.map((r) => [r.id, r.balance])));
  }

  move(ref: AccountRef, delta: number) {
    const id = accountId(ref);
    this.balances.set(id, (this.balances.get(id) ?? 0) + delta);
  }

  balance(ref: AccountRef) {
    return this.balances.get(accountId(ref)) ?? 0;
  }

  available(driver: string) {
    return this.balance(driverAccount(driver, "available"));
  }

  addPayment(p: Omit<PaymentModel, "paid" | "refunded" | "inFlight" | "medsInFlight" | "released">) {
    this.payments.set(p.id, {
      ...p,
      paid: false,
      refunded: 0,
      inFlight: 0,
      medsInFlight: 0,
      released: false,
    });
  }

  remaining(p: PaymentModel) {
    return p.fare - p.refunded - p.inFlight;
  }

  paymentConfirmed(paymentId: string) {
    const p = this.payment(paymentId);
    if (p.paid) return;
    p.paid = true;
    this.move(platformAccount(p.method === "pix" ? "efi_clearing" : "card_clearing"), p.fare);
    this.move(driverAccount(p.driver, "pending"), p.share);
    this.move(platformAccount("revenue"), p.commission);
  }

  released(paymentId: string) {
    const p = this.payment(paymentId);
    p.released = true;
    this.move(driverAccount(p.driver, "pending"), -p.share);
    this.move(driverAccount(p.driver, "available"), p.share);
  }

  cashRide(driver: string, commission: number) {
    this.move(driverAccount(driver, "credit"), -commission);
    this.move(platformAccount("revenue"), commission);
  }

  addRefund(r: Omit<RefundModel, "applied">) {
    this.refunds.set(r.efiId, { ...r, applied: false });
    const p = this.payment(r.paymentId);
    p.inFlight += r.amount;
    if (r.kind === "med") p.medsInFlight += 1;
  }

  /** A devolução settled in the ledger: the refund posting, or nothing for a rejected one. */
  refundSettled(efiId: string) {
    const r = this.refunds.get(efiId);
    if (!r) throw new Error(`the model knows no devolução ${efiId}`);
    if (r.applied) return;
    r.applied = true;
    const p = this.payment(r.paymentId);
    p.inFlight -= r.amount;
    if (r.kind === "med") p.medsInFlight -= 1;
    if (r.outcome === "NAO_REALIZADO") return;
    const driverPart =
      driverPartOf(p.refunded + r.amount, p.share, p.fare) - driverPartOf(p.refunded, p.share, p.fare);
    p.refunded += r.amount;
    this.move(platformAccount("efi_balance"), -r.amount);
    this.move(driverAccount(p.driver, "available"), -driverPart);
    this.move(platformAccount("revenue"), -(r.amount - driverPart));
  }

  /** Every devolução a delivered notification lists (Efí sends the whole array each time). */
  devolucoesDelivered(devolucoes: NotifiedDevolucao[]) {
    for (const d of devolucoes) this.refundSettled(d.id);
  }

  payoutRequested(po: Omit<PayoutModel, "resolved" | "returned">) {
    this.payouts.set(po.id, { ...po, resolved: false, returned: 0 });
    this.move(driverAccount(po.driver, "available"), -(po.amount + po.fee));
    this.move(platformAccount("payouts_in_transit"), po.amount);
    this.move(platformAccount("revenue"), po.fee);
  }

  payoutResolved(id: string) {
    const po = this.payouts.get(id);
    if (!po) throw new Error(`the model knows no payout ${id}`);
    if (po.resolved) return;
    po.resolved = true;
    this.move(platformAccount("payouts_in_transit"), -po.amount);
    if (po.outcome === "paid") {
      this.move(platformAccount("efi_balance"), -po.amount);
    } else {
      this.move(driverAccount(po.driver, "available"), po.amount + po.fee);
      this.move(platformAccount("revenue"), -po.fee);
    }
  }

  /** Money the receiving bank sent back from a paid payout, once per return (rtrId). */
  payoutReturned(id: string, devolucoes: NotifiedDevolucao[]) {
    const po = this.payouts.get(id);
    if (!po) throw new Error(`the model knows no payout ${id}`);
    for (const d of devolucoes) {
      if (this.returns.has(d.rtrId)) continue;
      this.returns.add(d.rtrId);
      const cents = Math.round(Number(d.valor) * 100);
      this.move(platformAccount("efi_balance"), cents);
      this.move(driverAccount(po.driver, "available"), cents);
    }
  }

  /**
   * What a reconciler run applies, whatever it raced with: every Pix the sandbox received (each
   * payment is paid there as it is made), every refund of ours, every payout's send outcome.
   * MEDs and payout returns come only by webhook.
   */
  reconciled() {
    for (const p of this.payments.values()) this.paymentConfirmed(p.id);
    for (const r of this.refunds.values()) if (r.kind === "ours") this.refundSettled(r.efiId);
    for (const po of this.payouts.values()) this.payoutResolved(po.id);
  }

  payment(id: string) {
    const p = this.payments.get(id);
    if (!p) throw new Error(`the model knows no payment ${id}`);
    return p;
  }

  /** Every ledger balance, payment and payout row against the model, to the centavo. */
  async expectMatches(where: string) {
    const { results } = await env.DB.prepare("SELECT id, balance FROM ledger_accounts").all<{
      id: string;
      balance: number;
    }>();
    const actual = new Map(results.map((r) => [r.id, r.balance]));
    const ids = new Set([...actual.keys(), ...this.balances.keys()]);
    const diff: string[] = [];
    for (const id of ids) {
      const expected = this.balances.get(id) ?? 0;
      const got = actual.get(id) ?? 0;
      if (expected !== got) diff.push(`${id}: ledger ${got}, model ${expected}`);
    }
    expect(diff, `balances at ${where}`).toEqual([]);

    const payments = await env.DB.prepare("SELECT id, status, refunded_cents FROM payments").all<{
      id: string;
      status: string;
      refunded_cents: number;
    }>();
    const paymentRows = new Map(payments.results.map((r) => [r.id, r]));
    for (const p of this.payments.values()) {
      const status = !p.paid
        ? "pending"
        : p.refunded === 0
          ? "paid"
          : p.refunded === p.fare
            ? "refunded"
            : "partially_refunded";
      expect(paymentRows.get(p.id), `payment ${p.id} at ${where}`).toEqual({
        id: p.id,
        status,
        refunded_cents: p.refunded,
      });
    }
    const payouts = await env.DB.prepare("SELECT id, status FROM payouts").all<{
      id: string;
      status: string;
    }>();
    const payoutRows = new Map(payouts.results.map((r) => [r.id, r.status]));
    for (const po of this.payouts.values()) {
      expect(payoutRows.get(po.id), `payout ${po.id} at ${where}`).toBe(
        po.resolved ? po.outcome : "in_transit",
      );
    }
  }
}
