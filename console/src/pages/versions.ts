import { field, h, notice, problemBox, table } from "../dom";
import { api, can, heading, type Page } from "./page";

interface VersionField {
  name: string;
  label: string;
  kind: "text" | "cents" | "integer" | "datetime" | "reason";
  required?: boolean;
  value?: string;
}

interface VersionKind {
  hash: string;
  title: string;
  path: string;
  read: string;
  write: string;
  columns: string[];
  fields: VersionField[];
}

const CITY_AND_CATEGORY: VersionField[] = [
  { name: "city_id", label: "City", kind: "text", required: true, value: "sao_paulo" },
  { name: "category", label: "Category", kind: "text", required: true, value: "pop" },
];
const WHEN_AND_WHY: VersionField[] = [
  { name: "effective_from", label: "In force from (empty: now)", kind: "datetime" },
  { name: "reason", label: "Reason", kind: "reason", required: true },
];

const PRICING: VersionKind = {
  hash: "pricing",
  title: "Pricing versions",
  path: "/v1/admin/pricing",
  read: "pricing:read",
  write: "pricing:write",
  columns: [
    "id",
    "city_id",
    "category",
    "base_fare_cents",
    "per_km_cents",
    "per_minute_cents",
    "minimum_fare_cents",
    "booking_fee_cents",
    "cancellation_fee_cents",
    "effective_from",
    "retired_at",
  ],
  fields: [
    ...CITY_AND_CATEGORY,
    { name: "base_fare_cents", label: "Base fare (centavos)", kind: "cents", required: true },
    { name: "per_km_cents", label: "Per km (centavos)", kind: "cents", required: true },
    { name: "per_minute_cents", label: "Per minute (centavos)", kind: "cents", required: true },
    { name: "minimum_fare_cents", label: "Minimum fare (centavos)", kind: "cents", required: true },
    { name: "booking_fee_cents", label: "Booking fee (centavos)", kind: "cents", required: true },
    { name: "cancellation_fee_cents", label: "Cancellation fee (centavos)", kind: "cents", required: true },
    ...WHEN_AND_WHY,
  ],
};

const COMMISSION: VersionKind = {
  hash: "commission",
  title: "Commission versions",
  path: "/v1/admin/commission",
  read: "commission:read",
  write: "commission:write",
  columns: ["id", "city_id", "category", "rate_bp", "min_cents", "max_cents", "effective_from", "retired_at"],
  fields: [
    ...CITY_AND_CATEGORY,
    { name: "rate_bp", label: "Rate (basis points, 2000 = 20 %)", kind: "integer", required: true },
    { name: "min_cents", label: "Minimum (centavos)", kind: "cents" },
    { name: "max_cents", label: "Maximum (centavos, empty: none)", kind: "cents" },
    ...WHEN_AND_WHY,
  ],
};

function versionsPage(kind: VersionKind): Page {
  return {
    hash: kind.hash,
    title: kind.title,
    permission: kind.read,
    async render(main, me) {
      heading(main, kind.title);
      const list = h("div", { "aria-live": "polite" });
      const refresh = async () => {
        const reply = await api<{ items: Record<string, unknown>[] }>("GET", `${kind.path}?limit=50`);
        list.replaceChildren(reply.ok ? table(reply.data.items, kind.columns) : problemBox(reply.problem));
      };
      // Staff who may not change versions do not see the form at all.
      if (can(me, kind.write)) main.append(versionForm(kind, refresh));
      main.append(h("h2", {}, "Versions"), list);
      await refresh();
    },
  };
}

function versionForm(kind: VersionKind, refresh: () => Promise<void>): HTMLElement {
  const outcome = h("div", { "aria-live": "polite" });
  const inputs = kind.fields.map((f) => {
    const input =
      f.kind === "reason"
        ? h("textarea", { name: f.name, required: f.required, minlength: "3", maxlength: "500", rows: "2" })
        : h("input", {
            name: f.name,
            type: f.kind === "text" ? "text" : f.kind === "datetime" ? "datetime-local" : "number",
            min: f.kind === "cents" || f.kind === "integer" ? "0" : undefined,
            step: f.kind === "cents" || f.kind === "integer" ? "1" : undefined,
            required: f.required,
          });
    input.id = `${kind.hash}-${f.name}`;
    if (f.value) input.value = f.value;
    return { f, input };
  });
  const form = h(
    "form",
    {
      class: "version-form",
      "aria-label": `New ${kind.title.toLowerCase().replace(" versions", "")} version`,
      async onsubmit(event: Event) {
        event.preventDefault();
        const body: Record<string, unknown> = {};
        for (const { f, input } of inputs) {
          const value = input.value.trim();
          if (value === "") continue;
          if (f.kind === "cents" || f.kind === "integer") body[f.name] = Number(value);
          else if (f.kind === "datetime") body[f.name] = new Date(value).toISOString();
          else body[f.name] = value;
        }
        const reply = await api<{ id: string }>("POST", kind.path, body, {
          "idempotency-key": crypto.randomUUID(),
        });
        if (!reply.ok) return outcome.replaceChildren(problemBox(reply.problem));
        outcome.replaceChildren(notice(`Version ${reply.data.id} created.`));
        form.reset();
        for (const { f, input } of inputs) if (f.value) input.value = f.value;
        await refresh();
      },
    },
    h("h2", {}, "New version"),
    h("div", { class: "grid" }, ...inputs.map(({ f, input }) => field(f.label, input))),
    h("button", { type: "submit" }, "Create version"),
    outcome,
  );
  return form;
}

export const pricingPage = versionsPage(PRICING);
export const commissionPage = versionsPage(COMMISSION);
