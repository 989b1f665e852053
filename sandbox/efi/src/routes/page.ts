import { Hono } from "hono";
import type { SandboxEnv } from "../context";
import { formatValor } from "../money";
import { sandboxState } from "./control";

/** GET /sandbox: one page listing what the sandbox holds, with buttons for the control API. */

const esc = (value: unknown) =>
  String(value ?? "").replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );

const money = (cents: unknown) => (typeof cents === "number" ? formatValor(cents) : "");

function button(label: string, path: string, body?: unknown, ask?: { field: string; prompt: string }) {
  const data = esc(JSON.stringify({ path, body: body ?? {}, ask: ask ?? null }));
  return `<button data-action="${data}">${esc(label)}</button>`;
}

function table(title: string, headers: string[], rows: string[][]) {
  const head = headers.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = rows.length
    ? rows.map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join("")}</tr>`).join("")
    : `<tr><td colspan="${headers.length}"><em>none</em></td></tr>`;
  return `<h2>${esc(title)}</h2><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

type Row = Record<string, unknown>;

export const pageRoutes = new Hono<SandboxEnv>();

pageRoutes.get("/sandbox", async (c) => {
  const state = await sandboxState(c.get("deps"));
  const cobs = (state.cobs as Row[]).map((cob) => [
    esc(cob.txid),
    money(cob.valor_cents),
    esc(cob.status),
    esc(cob.criacao),
    esc(cob.e2e_id),
    cob.status === "ATIVA"
      ? button("Pay", `/sandbox/charges/${cob.txid}/pay`) +
        button(
          "Pay another amount",
          `/sandbox/charges/${cob.txid}/pay`,
          {},
          { field: "valor", prompt: "Amount, e.g. 12.34" },
        )
      : cob.e2e_id
        ? button("Resend webhook", "/sandbox/webhooks/resend", { e2eids: [cob.e2e_id] })
        : "",
  ]);
  const sends = (state.sends as Row[]).map((send) => [
    esc(send.id_envio),
    esc(send.e2e_id),
    money(send.valor_cents),
    esc(send.status),
    esc(send.solicitacao),
    send.status === "EM_PROCESSAMENTO"
      ? button("Confirm", `/sandbox/pix-sends/${send.id_envio}/confirm`) +
        button(
          "Fail",
          `/sandbox/pix-sends/${send.id_envio}/fail`,
          {},
          { field: "motivo", prompt: "Reason (motivo)" },
        )
      : button("Resend webhook", "/sandbox/webhooks/resend", { e2eids: [send.e2e_id] }),
  ]);
  const refunds = (state.refunds as Row[]).map((r) => [
    esc(r.e2e_id),
    esc(r.id),
    money(r.valor_cents),
    esc(r.status),
    esc(r.motivo),
    r.status === "EM_PROCESSAMENTO" ? button("Settle", `/sandbox/refunds/${r.e2e_id}/${r.id}/settle`) : "",
  ]);
  const cards = state.cards.map((card) => [
    esc(card.charge_id),
    money(card.total),
    esc(card.status),
    esc(card.notification_url),
    card.status === "approved" ? button("Confirm (paid)", `/sandbox/cards/${card.charge_id}/confirm`) : "",
  ]);
  const deliveries = state.deliveries.map((d) => [
    esc(d.id),
    esc(d.kind),
    esc(d.reason),
    esc(d.url),
    esc(d.state),
    d.tries.map((t) => esc(`#${t.attempt} ${t.http_status ?? t.error ?? ""}`)).join("<br>"),
    `<details><summary>body</summary><pre>${esc(d.body)}</pre></details>`,
  ]);
  const webhooks = (state.webhooks as Row[]).map((w) => [esc(w.chave), esc(w.webhook_url), esc(w.criacao)]);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Efí sandbox</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin-bottom:1rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:13px}
th{background:#f3f3f3} button{margin:0 .3rem .2rem 0} pre{white-space:pre-wrap;max-width:40rem}
code{background:#f3f3f3;padding:0 .2rem}
</style></head><body>
<h1>Efí sandbox</h1>
<p>Client id <code>${esc(state.account.clientId)}</code>, Pix key <code>${esc(state.account.pixKey)}</code>.
Pix sends to a key settle only for <code>${esc(state.account.homologacaoFavoredKey)}</code>.
JSON: <a href="/sandbox/state">/sandbox/state</a>.</p>
<p>${button("Expire all tokens", "/sandbox/tokens/expire")}
${button("Fail the next Pix send", "/sandbox/pix-sends/fail-next")}
${button("Refuse the next card (outcome 2)", "/sandbox/cards/refuse-next", { outcome: "2" })}</p>
${table("Webhooks", ["chave", "webhookUrl", "criacao"], webhooks)}
${table("Cobs", ["txid", "valor", "status", "criacao", "e2eId", ""], cobs)}
${table("Refunds (devoluções)", ["e2eId", "id", "valor", "status", "motivo", ""], refunds)}
${table("Pix sends", ["idEnvio", "e2eId", "valor", "status", "solicitacao", ""], sends)}
${table("Card charges", ["charge_id", "total", "status", "notification_url", ""], cards)}
${table("Webhook deliveries (newest first)", ["id", "kind", "reason", "url", "state", "attempts", ""], deliveries)}
<script>
document.addEventListener("click", async (event) => {
  const target = event.target.closest("button[data-action]");
  if (!target) return;
  const action = JSON.parse(target.dataset.action);
  const body = { ...action.body };
  if (action.ask) {
    const answer = prompt(action.ask.prompt);
    if (answer === null) return;
    if (answer) body[action.ask.field] = answer;
  }
  const response = await fetch(action.path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) alert(await response.text());
  setTimeout(() => location.reload(), 300);
});
</script>
</body></html>`;
  return c.html(html);
});
