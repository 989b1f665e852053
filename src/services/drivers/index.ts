// What the HTTP routes call, under one namespace (`drivers.goOnline`): the route file names its
// own route definitions like these functions. Services import the files directly.

export { goOffline, goOnline } from "./availability";
export { listAvailableRides } from "./available-rides";
export { LOCATION_SNAPSHOT_INTERVAL_MS } from "./index-port";
export { recordDriverLocation } from "./location";
export { getDriverProfile } from "./profile";
export { setVehicle } from "./vehicle";
