/**
 * Where soft prompts go in the input (CPM-2's position study): front (before the input), middle (between two
 * input segments), back (right before the answer), or any combination. A combination splits the total prompt
 * length across its slots as evenly as possible, front first.
 */

export const PROMPT_SLOTS = ["front", "middle", "back"] as const;
export type PromptSlot = (typeof PROMPT_SLOTS)[number];

/** Length per slot; a slot with 0 is absent. */
export type SlotLengths = Readonly<Record<PromptSlot, number>>;

/** Parses "front", "back", "middle", "front+back", "front+middle+back" and splits `total` across them. */
export function parsePosition(position: string, total: number): SlotLengths {
  if (!Number.isInteger(total) || total < 1) throw new Error(`prompt length must be a positive integer, got ${total}`);
  const parts = position.split("+").map((p) => p.trim());
  const slots: PromptSlot[] = [];
  for (const p of parts) {
    if (!(PROMPT_SLOTS as readonly string[]).includes(p)) {
      throw new Error(
        `prompt position '${position}': '${p}' is not one of ${PROMPT_SLOTS.join(", ")} (combine with '+')`,
      );
    }
    if (slots.includes(p as PromptSlot)) throw new Error(`prompt position '${position}' names '${p}' twice`);
    slots.push(p as PromptSlot);
  }
  if (total < slots.length) throw new Error(`prompt length ${total} is too short to split across ${slots.join("+")}`);
  const ordered = PROMPT_SLOTS.filter((s) => slots.includes(s));
  const lengths: Record<PromptSlot, number> = { front: 0, middle: 0, back: 0 };
  ordered.forEach((s, i) => {
    lengths[s] = Math.floor(total / ordered.length) + (i < total % ordered.length ? 1 : 0);
  });
  return lengths;
}

export function totalLength(l: SlotLengths): number {
  return l.front + l.middle + l.back;
}

/** Canonical position name, e.g. "front+back". */
export function positionName(l: SlotLengths): string {
  return PROMPT_SLOTS.filter((s) => l[s] > 0).join("+");
}
