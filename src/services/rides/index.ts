// What the HTTP routes call, under one namespace (`rides.createRide`): the route file names its
// own route definitions like these functions. Services and objects import the files directly.
export { acceptRide } from "./accept";
export { cancelRide } from "./cancel";
export { completeRide } from "./complete";
export { createRide, type RideRequest } from "./create";
export { endRideEarly } from "./end-early";
export { getRide, listRides } from "./queries";
export { rateRide } from "./rate";
export { driverStep } from "./steps";
export type { RideView } from "./view";
