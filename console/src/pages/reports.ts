import { apiText } from "../api";
import { barChart } from "../chart";
import { brl, field, h, problemBox, table } from "../dom";
import { api, heading, type Page } from "./page";

const REPORTS = ["revenue", "rides", "payouts", "drivers"] as const;
type ReportName = (typeof REPORTS)[number];
const DAY_MS = 86_400_000;

/** Local dates in São Paulo, where the seeded city is; the API works in the city's own zone. */
const dateIn = (at: number) => new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(at);

export const reportsPage: Page = {
  hash: "reports",
  title: "Reports",
  permission: "reports:read",
  async render(main) {
    heading(main, "Reports");
    const which = h("select", { name: "report" }, ...REPORTS.map((r) => h("option", { value: r }, r)));
    const from = h("input", { type: "date", name: "from", required: true });
    const to = h("input", { type: "date", name: "to", required: true });
    from.value = dateIn(Date.now() - 29 * DAY_MS);
    to.value = dateIn(Date.now());
    const output = h("div", { "aria-live": "polite" });
    const query = () => new URLSearchParams({ from: from.value, to: to.value });
    const show = async (event?: Event) => {
      event?.preventDefault();
      const name = which.value as ReportName;
      const reply = await api<{ rows: Record<string, unknown>[] }>(
        "GET",
        `/v1/admin/reports/${name}?${query()}`,
      );
      if (!reply.ok) return output.replaceChildren(problemBox(reply.problem));
      output.replaceChildren(chartOf(name, reply.data.rows), table(reply.data.rows));
    };
    const download = async () => {
      const name = which.value as ReportName;
      const reply = await apiText(`/v1/admin/reports/${name}?${query()}`, "text/csv");
      if (!reply.ok) return output.replaceChildren(problemBox(reply.problem));
      const link = h("a", {
        href: URL.createObjectURL(new Blob([reply.data], { type: "text/csv" })),
        download: `${name}-${from.value}-${to.value}.csv`,
      });
      link.click();
      URL.revokeObjectURL(link.href);
    };
    main.append(
      h(
        "form",
        { class: "inline", onsubmit: show },
        field("Report", which),
        field("From", from),
        field("To", to),
        h("button", { type: "submit" }, "Show"),
        h("button", { type: "button", onclick: download }, "Download CSV"),
      ),
      output,
    );
    await show();
  },
};

/** One bar per day: revenue in reais, or the report's main count. */
function chartOf(name: ReportName, rows: Record<string, unknown>[]): HTMLElement {
  const perDay = new Map<string, number>();
  const measure: Record<ReportName, [string, string]> = {
    revenue: ["revenue_cents", "Platform revenue per day"],
    rides: ["completed", "Completed rides per day"],
    payouts: ["amount_cents", "Payouts requested per day"],
    drivers: ["trips", "Trips per day"],
  };
  const [key, title] = measure[name];
  for (const row of rows) {
    const date = String(row.date);
    perDay.set(date, (perDay.get(date) ?? 0) + Number(row[key] ?? 0));
  }
  const money = key.endsWith("_cents");
  const bars = [...perDay].map(([label, value]) => ({ label, value }));
  return h(
    "figure",
    {},
    barChart(title, bars, (v) => (money ? brl(Math.round(v)) : String(Math.round(v)))),
    h("figcaption", {}, title),
  );
}
