import type { Database } from "../db/client";
import type { UserRole } from "../db/schema";
import type { CardProvider } from "../integrations/card/provider";
import type { EfiClient } from "../integrations/efi";
import type { PushClient } from "../integrations/fcm";
import type { PayoutRail } from "../integrations/payout-rail";
import type { Config } from "../lib/config";
import type { Logger } from "../lib/logger";
import type { Metrics } from "../lib/metrics";
import type { UserChannelPort } from "./auth/user-channel";
import type { DriverIndexOf } from "./drivers/index-port";
import type { Publish } from "./events/wire";
import type { RoutingProvider } from "./pricing/routing";
import type { RateFamily, RateLimiterPort } from "./requests/rate-limiter-port";
import type { RideRoomPort } from "./rides/room";

/**
 * What a service needs from the outside world. Built once per request by the context
 * middleware (and by queue, cron and object entry points); tests build their own.
 */
export interface ServiceContext {
  db: Database;
  config: Config;
  now: () => Date;
  log: Logger;
  /** Data points for dashboards (Analytics Engine); a no-op where no dataset is bound. */
  metrics: Metrics;
  requestId: string;
  /** Trip distance and duration estimates; tests may swap in a fake. */
  routing: RoutingProvider;
  /**
   * Sends payouts by Pix: Efí's Pix send, or the local rail when PAYOUT_RAIL = "local" (the test
   * suite's default). Tests may swap in another.
   */
  payoutRail: PayoutRail;
  /** Efí's API Pix: charges, QR codes, refunds, Pix sends. */
  efi: EfiClient;
  /** Card charges (Efí's card API, or the local provider when no card API is configured). */
  cards: CardProvider;
  /** Push to phones through FCM; null when push is off (no FCM project configured). */
  push: PushClient | null;
  /**
   * Sends a domain event to a ride's sockets and users' channels: `publish(event, { ride, users })`.
   * Events listed in `src/services/notifications/rules.ts` also become notification jobs.
   */
  publish: Publish;
  /** The Durable Object that owns a ride's state: every change to a ride goes through it. */
  rideRoom: (rideId: string) => RideRoomPort;
  /**
   * An area's driver index (`areaOf` in `drivers/index-port.ts` names the area): its online drivers,
   * their positions and rides, held in a Durable Object so pings and dispatch need no D1 read.
   */
  driverIndex: DriverIndexOf;
  /** The Durable Object that holds a user's `/v1/ws` sockets and socket tickets. */
  userChannel: (userId: string) => UserChannelPort;
  /** The rate-limit counter of a route family for one subject (an IP, a user, an account and IP). */
  limits: (family: RateFamily, subject: string) => RateLimiterPort;
  /** Bindings: Durable Object namespaces and queue producers reach services through here. */
  env: Env;
}

export interface AuthUser {
  id: string;
  role: UserRole;
  sessionId: string;
}
