import type { Reply } from "../helpers";
import { type DocOperation, documentedCodes, documentedStatuses } from "../security/openapi";

/**
 * Answers any route may give before an operation's handler is even chosen (an unmatched path, a
 * body over the limit, …): accepted with exactly this code on any operation, provided the
 * document lists the status somewhere.
 */
export const GENERIC_PROBLEMS: Record<number, string> = {
  401: "authentication_required",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/**
 * What is wrong with a reply, or null: a 5xx; a status the operation does not document (unless
 * generic, see above); a 4xx that is not a problem document with a `code` matching its status;
 * a code the operation does not document for that status.
 */
export function replyProblem(
  doc: Record<string, any>,
  operation: DocOperation,
  reply: Reply,
  documentStatuses: Set<number>,
): string | null {
  const { status } = reply;
  const excerpt = reply.text.slice(0, 300);
  if (status >= 500) return `answered ${status}: ${excerpt}`;
  const documented = documentedStatuses(operation.op).includes(status);
  const undocumented = `answered ${status}, which the operation does not document: ${excerpt}`;
  if (status < 400) return documented ? null : undocumented;
  const contentType = reply.headers.get("content-type");
  if (!contentType?.startsWith("application/problem+json")) {
    return `answered ${status} as ${contentType}, not application/problem+json`;
  }
  const code = reply.json?.code;
  if (typeof code !== "string") return `answered ${status} without a problem code: ${excerpt}`;
  if (reply.json.status !== status)
    return `answered ${status} with a problem document saying ${reply.json.status}`;
  if (GENERIC_PROBLEMS[status] === code && documentStatuses.has(status)) return null;
  if (!documented) return undocumented;
  const codes = documentedCodes(doc, operation.op, status);
  if (codes && !codes.includes(code))
    return `answered ${status} ${code}, but documents ${codes.join(", ")} for ${status}`;
  return null;
}
