import type { z } from "zod";
import type { EfiTransport } from "./http.ts";

/**
 * Every page of one of Efí's `?inicio&fim` lists (1,000 items a page, at most `maxPages` pages,
 * 20 by default): the statement of received Pix, the Pix sent.
 */
export async function allPages<T>(
  http: EfiTransport,
  path: string,
  window: { from: Date; to: Date; maxPages?: number },
  schema: z.ZodType<{ pix: T[]; pages: number }>,
): Promise<T[]> {
  const all: T[] = [];
  for (let page = 0; page < (window.maxPages ?? 20); page += 1) {
    const query = new URLSearchParams({
      inicio: window.from.toISOString(),
      fim: window.to.toISOString(),
      "paginacao.paginaAtual": String(page),
      "paginacao.itensPorPagina": "1000",
    });
    const list = await http.call(
      { method: "GET", path: `${path}?${query}`, idempotent: true },
      [200],
      schema,
    );
    all.push(...list.pix);
    if (page + 1 >= list.pages) break;
  }
  return all;
}
