import { h, table } from "../dom";
import { api, heading, load, type Page } from "./page";

interface Listing {
  items: Record<string, unknown>[];
  next_cursor: string | null;
}

export const ledgerPage: Page = {
  hash: "ledger",
  title: "Ledger check",
  permission: "ledger:read",
  async render(main) {
    heading(main, "Ledger check");
    const result = h("div", { "aria-live": "polite" });
    const run = async () => {
      result.replaceChildren(h("p", {}, "Checking…"));
      const report = await load(
        result,
        api<{ ok: boolean; checked_at: string; breaches: Record<string, unknown>[] }>(
          "GET",
          "/v1/admin/ledger/check",
        ),
      );
      if (!report) return;
      result.replaceChildren(
        h(
          "p",
          { class: report.ok ? "ok" : "bad" },
          report.ok ? "Every invariant holds." : `${report.breaches.length} invariant(s) breached.`,
          ` Checked at ${report.checked_at}.`,
        ),
        table(report.breaches),
      );
    };
    main.append(h("button", { type: "button", onclick: run }, "Run the check again"), result);
    await run();
  },
};

export const flaggedPage: Page = {
  hash: "flagged",
  title: "Flagged payments",
  permission: "payments:refund",
  async render(main) {
    heading(main, "Flagged payments");
    const page = await load(main, api<Listing>("GET", "/v1/admin/payments/flagged?limit=50"));
    if (page) main.append(table(page.items));
  },
};

export const driversPage: Page = {
  hash: "drivers",
  title: "Drivers under review",
  permission: "drivers:review",
  async render(main) {
    heading(main, "Drivers under review");
    const page = await load(main, api<Listing>("GET", "/v1/admin/drivers?status=under_review&limit=50"));
    if (page) main.append(table(page.items));
  },
};

export const auditPage: Page = {
  hash: "audit",
  title: "Audit log",
  permission: "audit:read",
  async render(main) {
    heading(main, "Audit log");
    const page = await load(main, api<Listing>("GET", "/v1/admin/audit-logs?limit=50"));
    if (page) {
      main.append(
        table(page.items, ["created_at", "actor_id", "action", "target_type", "target_id", "after"]),
      );
    }
  },
};
