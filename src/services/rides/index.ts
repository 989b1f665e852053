// What the HTTP routes call, under one namespace (`rides.createRide`): the route file names its
// own route definitions like these functions. Services and objects import the files directly.
export { acceptRide, cancelRide, completeRide, driverStep } from "./commands";
export { createRide, type RideRequest } from "./create";
export { getRide, listRides } from "./queries";
export { rateRide } from "./rate";
export type { RideView } from "./view";
