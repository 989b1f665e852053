import { expect } from "vitest";
import { runReconcile } from "../../src/services/reconcile/run";
import { deliver } from "./efi-notifications";
import { type PlannedOp, RECONCILE_AHEAD_MS, type Walk } from "./walk";

// The walk's operations on notifications already sent: held ones delivered late and out of
// order, processed ones delivered again, and the reconciler that finds what was lost.

/** Up to `max` held notifications delivered now, shuffled and at once: out of order. */
export function deliverHeld(w: Walk, max: number): PlannedOp[] {
  const chosen = w.rng.shuffle(w.held).slice(0, max);
  return chosen.map((held) => {
    const copies = w.rng.chance(0.3) ? 2 : 1;
    const order = w.rng.shuffle(held.notifications);
    return {
      name: "deliverHeld",
      claims: held.claims,
      run: async () => {
        w.held.splice(w.held.indexOf(held), 1);
        for (const notification of order) {
          await deliver(notification, copies);
          w.delivered.push({ notification, claims: held.claims });
        }
        held.apply();
        w.count("deliveredLate");
      },
    };
  });
}

/** A notification already processed, delivered again (Efí's retry): stores and moves nothing. */
export function redeliver(w: Walk): PlannedOp | null {
  if (w.delivered.length === 0) return null;
  const { notification, claims } = w.rng.pick(w.delivered);
  const copies = w.rng.int(1, 2);
  return {
    name: "redeliver",
    claims,
    run: async () => {
      expect(await deliver(notification, copies), `${notification.kind} delivered again`).toBe(0);
      w.count("redelivered");
    },
  };
}

/** The reconciler, as if run past all its thresholds: every step must succeed. */
export function reconcile(w: Walk): PlannedOp {
  return {
    name: "reconcile",
    claims: [],
    run: async () => {
      const report = await runReconcile(w.ctx, { now: new Date(Date.now() + RECONCILE_AHEAD_MS) });
      expect(report.failed, "reconcile steps that failed").toEqual([]);
      w.count("reconcile");
    },
  };
}
