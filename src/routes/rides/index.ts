import { createRouter } from "../../http/router";
import { availableRideRoutes } from "./available";
import { rideDeclineRoutes } from "./decline";
import { rideEndEarlyRoutes } from "./end-early";
import { rideLifecycleRoutes } from "./lifecycle";
import { ridePaymentRoutes } from "./payment";
import { quoteRoutes } from "./quote";
import { rideRequestRoutes } from "./request";
import { rideSocketRoutes } from "./socket";

/** Everything under /v1/rides: a quote, the rides on offer near a driver, then rides by id. */
export const rideRoutes = createRouter()
  .route("/quote", quoteRoutes)
  .route("/available", availableRideRoutes)
  .route("/", rideRequestRoutes)
  .route("/", rideLifecycleRoutes)
  .route("/", rideDeclineRoutes)
  .route("/", rideEndEarlyRoutes)
  .route("/", ridePaymentRoutes)
  .route("/", rideSocketRoutes);
