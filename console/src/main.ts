import { api, signedIn, signIn, signOut, whenSignedOut } from "./api";
import { field, h, problemBox } from "./dom";
import { can, type Me, type Page } from "./pages/page";
import { reportsPage } from "./pages/reports";
import { auditPage, driversPage, flaggedPage, ledgerPage } from "./pages/simple";
import { usersPage } from "./pages/users";
import { commissionPage, pricingPage } from "./pages/versions";

const PAGES: Page[] = [
  reportsPage,
  ledgerPage,
  flaggedPage,
  driversPage,
  usersPage,
  pricingPage,
  commissionPage,
  auditPage,
];

const root = document.getElementById("app") as HTMLElement;
let me: Me | null = null;

whenSignedOut(() => {
  me = null;
  showSignIn();
});

function showSignIn(message?: HTMLElement): void {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
  });
  const outcome = h("div", { "aria-live": "polite" }, message ?? null);
  const form = h(
    "form",
    {
      class: "sign-in",
      async onsubmit(event: Event) {
        event.preventDefault();
        const reply = await signIn(email.value, password.value);
        if (!reply.ok) return outcome.replaceChildren(problemBox(reply.problem));
        password.value = "";
        await start();
      },
    },
    h("h1", {}, "Staff sign-in"),
    field("Email", email),
    field("Password", password),
    h("button", { type: "submit" }, "Sign in"),
    outcome,
  );
  root.replaceChildren(h("main", { id: "main" }, form));
  email.focus();
}

async function start(): Promise<void> {
  const reply = await api<Me>("GET", "/v1/me");
  if (!reply.ok) return showSignIn(problemBox(reply.problem));
  if (reply.data.permissions.length === 0) {
    await signOut();
    return showSignIn(problemBox({ status: 403, title: "This console is for staff accounts only" }));
  }
  me = reply.data;
  await route();
}

async function route(): Promise<void> {
  if (!me || !signedIn()) return showSignIn();
  const user = me;
  const visible = PAGES.filter((page) => can(user, page.permission));
  const wanted = location.hash.replace(/^#\/?/, "");
  const page = visible.find((p) => p.hash === wanted) ?? visible[0];
  const main = h("main", { id: "main" });
  const nav = h(
    "nav",
    { "aria-label": "Console" },
    h(
      "ul",
      {},
      ...visible.map((p) =>
        h(
          "li",
          {},
          h("a", { href: `#/${p.hash}`, "aria-current": p === page ? "page" : undefined }, p.title),
        ),
      ),
    ),
  );
  root.replaceChildren(
    h("a", { class: "skip", href: "#main" }, "Skip to content"),
    h(
      "header",
      {},
      h("span", { class: "brand" }, "Mobility edge · staff"),
      h("span", { class: "who" }, `${user.name} (${user.role})`),
      h("button", { type: "button", onclick: () => signOut() }, "Sign out"),
    ),
    nav,
    main,
  );
  if (page) await page.render(main, user);
  else main.append(h("p", {}, "Your role has no page here."));
}

window.addEventListener("hashchange", () => void route());
showSignIn();
