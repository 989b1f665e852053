import type { ServiceContext } from "../services/context";
import {
  type DispatchState,
  dispatchStep,
  INITIAL_DISPATCH,
  type Notice,
  offerPlan,
  type StepOutcome,
  type StepReads,
  stepOutcome,
} from "../services/dispatch";
import type { NearbyDriver } from "../services/drivers/index-port";
import type { RideRow } from "../services/rides/state";
import type { RideStorage } from "./ride-storage";

/** A dispatch step that failed (D1 unreachable) runs again this much later. */
const DISPATCH_RETRY_MS = 5000;

const STATE_KEY = "dispatch";

/**
 * The RideRoom's side of dispatch: where the steps of one ride stand (kept in the room's storage,
 * so a restarted object carries on) and when the next runs (the room's `dispatch` timer).
 */
export class RideDispatcher {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: RideStorage,
  ) {}

  /**
   * One step for a requested ride within its deadline: offers the next batch and schedules the
   * step after it. Answers the events to send and whether nobody is left to offer it to. A failed
   * step is retried later: every step is safe to run again.
   */
  async step(ctx: ServiceContext, row: RideRow): Promise<{ notices: Notice[]; exhausted: boolean }> {
    const state = this.state();
    try {
      return await this.keep(ctx, row, await dispatchStep(ctx, row, state));
    } catch (error) {
      ctx.log.error("dispatch step failed", { ride_id: row.id, error: String(error) });
      this.store.schedule("dispatch", Date.now() + DISPATCH_RETRY_MS);
      return { notices: [], exhausted: false };
    }
  }

  /**
   * A new ride's first step, for the batch that records it: its offer statements, or null when
   * the driver indexes did not answer (the room's alarm then runs the step, as after a failure).
   */
  async firstOffers(ctx: ServiceContext, row: RideRow, now: Date, nearby?: NearbyDriver[]) {
    try {
      return await offerPlan(ctx, row, INITIAL_DISPATCH, now, nearby);
    } catch (error) {
      ctx.log.warn("first offers deferred to the dispatch alarm", { ride_id: row.id, error: String(error) });
      return null;
    }
  }

  /**
   * Where the first step, run in the ride's creation batch, left the ride: its events, and `keep`
   * to store that (called after the events are sent: see `RideRoom.create`).
   */
  began(ctx: ServiceContext, row: RideRow, now: Date, reads: Omit<StepReads, "expired" | "open">) {
    const outcome = stepOutcome(ctx, row, INITIAL_DISPATCH, now, { expired: [], open: [], ...reads });
    return {
      notices: outcome.kind === "done" ? [] : outcome.notices,
      keep: () => {
        this.keep(ctx, row, outcome);
      },
    };
  }

  private keep(
    ctx: ServiceContext,
    row: RideRow,
    outcome: StepOutcome,
  ): { notices: Notice[]; exhausted: boolean } {
    if (outcome.kind === "done") return { notices: [], exhausted: false };
    const offers = outcome.notices.filter((n) => n.event.type === "ride.offered").length;
    const stage = outcome.kind === "exhausted" ? "exhausted" : offers > 0 ? "offered" : "waiting";
    ctx.metrics.record({ event: "dispatch", stage, category: row.category, offers });
    if (outcome.kind === "exhausted") return { notices: outcome.notices, exhausted: true };
    this.storage.kv.put(STATE_KEY, outcome.state);
    this.store.schedule("dispatch", outcome.at);
    return { notices: outcome.notices, exhausted: false };
  }

  /** Dispatch starts over (a new ride, or one its driver gave back): from the smallest radius. */
  restart(): void {
    this.storage.kv.put(STATE_KEY, { ...INITIAL_DISPATCH, batch: this.state().batch });
    this.store.schedule("dispatch", Date.now());
  }

  /** Synchronous storage: the state is read and kept between two awaits of nothing. */
  private state(): DispatchState {
    return this.storage.kv.get<DispatchState>(STATE_KEY) ?? INITIAL_DISPATCH;
  }
}
