export { declineOffer } from "./decline";
export { listOpenOffers } from "./list";
export { hintOffers, offersClosed } from "./offer-hints";
export {
  type DispatchState,
  dispatchStep,
  INITIAL_DISPATCH,
  type Notice,
  offerPlan,
  type StepOutcome,
  type StepReads,
  stepOutcome,
  withdrawnNotice,
} from "./step";
