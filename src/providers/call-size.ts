// How much one call may hold, counted before a reader builds anything of it:
// each message and block costs the gateway CPU (the unified request, the
// checks, the vendor's request) before the call is even admitted, so an 8 MiB
// body of one-character messages would take seconds of the event loop every
// other call waits on.

/**
 * Messages one call may hold: `messages` on `/v1/chat/completions`,
 * `/v1/messages` and the typed API, `input` items on `/v1/responses`.
 * Anthropic takes 100,000; agents send a few thousand at most before their
 * context is full and they compact it.
 */
export const MAX_MESSAGES = 10_000;

/**
 * Content blocks all the messages of a call may hold together: text and
 * image parts, tool calls and tool results (and a tool result's own blocks),
 * reasoning blocks. Several for each of MAX_MESSAGES messages.
 */
export const MAX_CONTENT_BLOCKS = 50_000;

/** How a dialect names its messages, and where they hold their blocks. */
export interface MessageLists {
  /** The field that holds the messages ("messages", "input"), and what they are called ("messages", "input items"). */
  field: string;
  items: string;
  /** The paths of each message's lists of blocks: "content", or "content.content" for the blocks of each content block. */
  blocks: readonly string[];
}

/** The paths of a unified message's (switchboard.v1.Message's) lists of blocks. */
export const UNIFIED_BLOCKS: readonly string[] = ["parts", "toolCalls", "reasoning"];

/** How many messages a call holds, and content blocks in all of them. */
export interface CallSize {
  messages: number;
  blocks: number;
}

/**
 * Refuses a call whose `messages` are more than MAX_MESSAGES, or hold more
 * than MAX_CONTENT_BLOCKS blocks in all, naming `lists.field`: one pass
 * that only reads the lists' lengths, before any message is read.
 */
export function checkCallSize(messages: readonly unknown[], lists: MessageLists, reject: (field: string, problem: string) => never): void {
  // Counted only once the messages are known to be within bounds: counting is a pass over all of them.
  if (messages.length > MAX_MESSAGES) reject(lists.field, callSizeProblem({ messages: messages.length, blocks: 0 }, lists.items)!);
  const problem = callSizeProblem({ messages: messages.length, blocks: blocksIn(messages, lists.blocks) }, lists.items);
  if (problem) reject(lists.field, problem);
}

/** What is past a call's bounds in `size`, saying what its messages are called (`items`); undefined when nothing is. */
export function callSizeProblem(size: CallSize, items: string): string | undefined {
  if (size.messages > MAX_MESSAGES) return `at most ${MAX_MESSAGES} ${items} a call, got ${size.messages}`;
  if (size.blocks > MAX_CONTENT_BLOCKS) return `at most ${MAX_CONTENT_BLOCKS} content blocks (parts, tool calls and results, reasoning) in all of a call's messages, got ${size.blocks}`;
  return undefined;
}

/** The blocks in all of `messages`, at the paths of their lists of blocks (`MessageLists.blocks`); reads only the lists' lengths. */
export function blocksIn(messages: readonly unknown[], blocks: readonly string[]): number {
  const paths = blocks.map((path) => path.split("."));
  let count = 0;
  for (const message of messages) for (const path of paths) count += countAt(message, path, 0);
  return count;
}

/** How many entries the lists at `path` (from `step` on) within `value` hold; a missing list or one of another type holds none (the reader says what is wrong with it). */
function countAt(value: unknown, path: readonly string[], step: number): number {
  if (typeof value !== "object" || value === null) return 0;
  const list = (value as Record<string, unknown>)[path[step]!];
  if (!Array.isArray(list)) return 0;
  if (step === path.length - 1) return list.length;
  let count = 0;
  for (const item of list) count += countAt(item, path, step + 1);
  return count;
}
