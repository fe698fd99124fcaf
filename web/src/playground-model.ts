/**
 * The model the playground calls: the one picked, while the key in use lists
 * it, else the first model that key lists (a default start may serve no model
 * a hard-coded name would guess; another key may not list the one picked with
 * the last); none until the list has come.
 */
export function playgroundModel(picked: string, listed: readonly { id: string }[] | undefined): string {
  if (listed?.some((model) => model.id === picked)) return picked;
  return listed?.[0]?.id ?? "";
}
