import type { Problem } from "./api";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | ((event: Event) => void) | undefined>;

/** An element; text children are text nodes, so nothing a server sends is ever parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** A problem document in words: its title, its detail and each field's message. */
export function problemBox(problem: Problem): HTMLElement {
  return h(
    "div",
    { class: "problem", role: "alert" },
    h("strong", {}, problem.title),
    problem.detail ? h("p", {}, problem.detail) : null,
    problem.errors?.length
      ? h("ul", {}, ...problem.errors.map((e) => h("li", {}, e.path ? `${e.path}: ${e.message}` : e.message)))
      : null,
  );
}

export function notice(text: string): HTMLElement {
  return h("p", { class: "notice", role: "status" }, text);
}

/** A table of plain rows; nested values are shown as JSON text. */
export function table<R extends Record<string, unknown>>(
  rows: R[],
  columns?: string[],
  actions?: (row: R) => Child,
): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, "Nothing to show.");
  const keys = columns ?? Object.keys(rows[0] ?? {});
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h("tr", {}, ...keys.map((k) => h("th", { scope: "col" }, k)), actions ? h("th", {}, "") : null),
      ),
      h(
        "tbody",
        {},
        ...rows.map((row) =>
          h(
            "tr",
            {},
            ...keys.map((k) => h("td", {}, cell(row[k]))),
            actions ? h("td", {}, actions(row)) : null,
          ),
        ),
      ),
    ),
  );
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A labelled input: every field of every form has a real label. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
): HTMLElement {
  input.id ||= `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input);
}

export function brl(cents: number): string {
  return (cents / 100).toLocaleString("pt-BR", { style: "currency", currency: "BRL" });
}
