/** The document's tags, one per URL family, in the order the reference shows them. */
export const OPENAPI_TAGS = [
  { name: "Health", description: "`/health`: whether the service and its database answer." },
  {
    name: "Auth",
    description:
      "`/v1/auth`: accounts and sessions. Access tokens are short-lived JWTs; refresh tokens rotate.",
  },
  { name: "Me", description: "`/v1/me`: the signed-in user." },
  {
    name: "Rides",
    description:
      "`/v1/rides`: quotes, requests and the ride's lifecycle (accept, arrive, start, complete, cancel, rate), the rides on offer near a driver, and a ride's payment.",
  },
  { name: "Drivers", description: "`/v1/drivers`: the driver's vehicle, online status and position." },
  {
    name: "Wallet",
    description: "`/v1/wallet`: a driver's balances, statement and prepaid credit top-ups.",
  },
  { name: "Payouts", description: "`/v1/payouts`: a driver's available balance, paid out by Pix." },
  { name: "Payment methods", description: "`/v1/payment-methods`: a passenger's tokenised cards." },
  { name: "Payments", description: "`/v1/payments`: one payment, whatever it paid for." },
  {
    name: "Realtime",
    description:
      "`/v1/ws`: single-use tickets for the WebSocket upgrades of `/v1/ws` and `/v1/rides/{id}/ws`, which take no token in the URL.",
  },
  {
    name: "Notifications",
    description:
      "`/v1/devices` and `/v1/notifications`: the phones push notifications go to, and the in-app inbox of every notification.",
  },
  {
    name: "Admin",
    description: "`/v1/admin`: staff operations, each behind a named permission; the writes are audited.",
  },
  { name: "Webhooks", description: "`/webhooks/efi`: notifications from Efí, the Pix and card provider." },
];
