export { declineOffer } from "./decline";
export { listOpenOffers } from "./list";
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
