import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeAuth } from "../http/auth";
import { AUTH_PROBLEMS, BODY_PROBLEMS, createRouter, jsonContent, problemResponses } from "../http/router";
import { userChannelOf } from "../objects/stubs";
import { issueSocketTicket, SOCKET_TICKET_TTL_SECONDS } from "../services/auth/socket-tickets";
import { forwarded, socketUser } from "./sockets";

const SocketTicketSchema = z
  .object({
    ticket: z.string().openapi({ description: "Send as `?ticket=` on the upgrade; good once" }),
    expires_at: z.string().datetime().openapi({ description: "When the ticket stops working" }),
  })
  .openapi("SocketTicket");

const ticket = createRoute({
  method: "post",
  path: "/ticket",
  operationId: "createSocketTicket",
  tags: ["Realtime"],
  summary: "A single-use ticket for a WebSocket upgrade",
  description: `For any signed-in user. The ticket opens one socket (\`GET /v1/ws\` or \`GET /v1/rides/{id}/ws\`) as \`?ticket=\` within ${SOCKET_TICKET_TTL_SECONDS} s, for clients that cannot send \`Sec-WebSocket-Protocol: bearer, <token>\`; the socket belongs to the session that asked for it. An access token in the URL (\`?token=\`) is refused.`,
  security: [{ bearerAuth: [] }],
  middleware: [requireEdgeAuth] as const,
  responses: {
    201: jsonContent(SocketTicketSchema, "The ticket"),
    ...problemResponses(...BODY_PROBLEMS, ...AUTH_PROBLEMS),
  },
});

/** The caller's own event stream: offers, their rides, wallet and payment events. */
export const userSocketRoutes = createRouter()
  .openapi(ticket, async (c) => c.json(await issueSocketTicket(c.get("ctx"), c.get("user")), 201))
  .get("/", async (c) => {
    const user = await socketUser(c);
    if (user instanceof Response) return user;
    const { env } = c.get("ctx");
    return userChannelOf(env, user.id).fetch(forwarded(c, user, user.role));
  });
