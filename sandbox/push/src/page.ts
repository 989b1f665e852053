import type { RecordedMessage } from "./app";

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

/** The control page: every message received, newest first, refreshed every two seconds. */
export function pushPage(messages: RecordedMessage[], failNext: number): string {
  const rows = [...messages]
    .reverse()
    .map((m) => {
      const n = (m.message.notification ?? {}) as { title?: string; body?: string };
      return `<tr><td>${escapeHtml(m.received_at)}</td><td><code>${escapeHtml(m.token)}</code></td><td><b>${escapeHtml(
        n.title ?? "",
      )}</b><br>${escapeHtml(n.body ?? "")}</td><td><code>${escapeHtml(JSON.stringify(m.message.data ?? {}))}</code></td></tr>`;
    })
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Push emulator</title>
<meta http-equiv="refresh" content="2">
<style>body{font-family:system-ui;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;vertical-align:top}</style>
</head><body><h1>FCM push emulator</h1>
<p>${messages.length} message(s). Tokens starting with <code>dead-</code> answer 404 UNREGISTERED.
Next sends failing with 500: ${failNext}.
JSON: <a href="/sandbox/push/messages">/sandbox/push/messages?token=…</a></p>
<form method="post" action="/sandbox/push/fail-next" onsubmit="event.preventDefault();fetch(this.action,{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({count:Number(this.count.value)})}).then(()=>location.reload())">
Fail the next <input name="count" type="number" min="0" value="1" style="width:4em"> send(s) with 500 <button>Set</button></form>
<table><tr><th>received</th><th>token</th><th>notification</th><th>data</th></tr>${rows}</table>
</body></html>`;
}
