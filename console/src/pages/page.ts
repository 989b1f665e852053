import { api, type Reply } from "../api";
import { h, problemBox } from "../dom";

export interface Me {
  id: string;
  name: string;
  email: string;
  role: string;
  permissions: string[];
}

/** A page of the console: its hash, title, the permission that shows it, and how it renders. */
export interface Page {
  hash: string;
  title: string;
  permission: string;
  render: (main: HTMLElement, me: Me) => Promise<void>;
}

export const can = (me: Me, permission: string) => me.permissions.includes(permission);

/** Calls the API and, on a problem, shows it in words in `where` and answers null. */
export async function load<T>(where: HTMLElement, reply: Promise<Reply<T>>): Promise<T | null> {
  const result = await reply;
  if (result.ok) return result.data;
  where.appendChild(problemBox(result.problem));
  return null;
}

export function heading(main: HTMLElement, title: string): void {
  main.replaceChildren(h("h1", { tabindex: "-1", id: "page-title" }, title));
  main.querySelector<HTMLElement>("#page-title")?.focus();
}

export { api };
