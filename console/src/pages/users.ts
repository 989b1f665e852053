import { field, h, notice, problemBox, table } from "../dom";
import { api, can, heading, type Page } from "./page";

/**
 * Users: find by email or name, and block or unblock (with `users:block`). Blocking ends every
 * session of the user at once, so it asks for confirmation first.
 */
interface ListedUser extends Record<string, unknown> {
  id: string;
  name: string;
  status: string;
}

export const usersPage: Page = {
  hash: "users",
  title: "Users",
  permission: "users:read",
  async render(main, me) {
    heading(main, "Users");
    const results = h("div", { "aria-live": "polite" });
    const query = h("input", { type: "search", name: "q", required: true, minlength: "2" });
    const search = async (event?: Event) => {
      event?.preventDefault();
      const reply = await api<{ items: ListedUser[] }>(
        "GET",
        `/v1/admin/users?${new URLSearchParams({ q: query.value, limit: "50" })}`,
      );
      if (!reply.ok) return results.replaceChildren(problemBox(reply.problem));
      results.replaceChildren(
        table(reply.data.items, ["id", "name", "email", "role", "status", "created_at"], (user) =>
          can(me, "users:block") ? statusButton(user, search) : null,
        ),
      );
    };
    main.append(
      h(
        "form",
        { class: "inline", onsubmit: search },
        field("Email or name", query),
        h("button", { type: "submit" }, "Search"),
      ),
      results,
    );
    if (can(me, "users:block")) main.append(byId());
  },
};

function statusButton(user: ListedUser, refresh: () => Promise<unknown>) {
  const action = user.status === "blocked" ? "unblock" : "block";
  const out = h("span", {});
  const button = h(
    "button",
    {
      type: "button",
      class: action === "block" ? "danger" : "",
      onclick: async () => {
        if (
          action === "block" &&
          !window.confirm(`Block ${user.name}? Every session of theirs ends at once.`)
        )
          return;
        const reply = await api("POST", `/v1/admin/users/${encodeURIComponent(user.id)}/${action}`, {});
        if (!reply.ok) return out.replaceChildren(problemBox(reply.problem));
        out.replaceChildren(notice(action === "block" ? "Blocked." : "Unblocked."));
        await refresh();
      },
    },
    action === "block" ? "Block" : "Unblock",
  );
  out.append(button);
  return out;
}

/** Block or unblock a user whose id staff already have (from a ride, a payment, the audit log). */
function byId(): HTMLElement {
  const id = h("input", { type: "text", name: "user_id", required: true, pattern: "usr_[A-Za-z0-9]+" });
  const out = h("div", { "aria-live": "polite" });
  const act = (action: "block" | "unblock") => async () => {
    if (!id.reportValidity()) return;
    if (action === "block" && !window.confirm(`Block ${id.value}? Every session of theirs ends at once.`))
      return;
    const reply = await api<{ name: string; status: string }>(
      "POST",
      `/v1/admin/users/${encodeURIComponent(id.value)}/${action}`,
      {},
    );
    out.replaceChildren(
      reply.ok ? notice(`${reply.data.name} is now ${reply.data.status}.`) : problemBox(reply.problem),
    );
  };
  return h(
    "section",
    {},
    h("h2", {}, "Block or unblock by id"),
    h(
      "div",
      { class: "inline-row" },
      field("User id", id),
      h("button", { type: "button", class: "danger", onclick: act("block") }, "Block"),
      h("button", { type: "button", onclick: act("unblock") }, "Unblock"),
    ),
    out,
  );
}
