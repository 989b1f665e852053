import { z } from "@hono/zod-openapi";

/** Lists are newest first; the cursor is the id of the last item seen (ids are time-sortable). */
export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
  cursor: z.string().max(64).optional().openapi({ description: "`next_cursor` of the previous page" }),
});

export type PageQuery = z.infer<typeof PageQuerySchema>;

export function pageOf<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last ? last.id : null };
}
