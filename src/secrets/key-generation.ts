import type { Credential } from "./credential.js";

/**
 * Generations of a key's state, which the credentials a pool hands out are stamped with. A key takes a new
 * generation when it joins a pool and each time a probe restores it after the vendor rejected it. A rejection
 * counts only against the generation its attempt was handed out in: a 401 answered late to a call sent before
 * the restore (or before the key was re-created under the same id) says nothing of the key now, and must not
 * disable it again. Numbered across every pool, so that a re-created key never shares a generation with the
 * key it replaces.
 */
let lastGeneration = 0;
const STAMPS = new WeakMap<Credential, number>();

export function nextGeneration(): number {
  return ++lastGeneration;
}

/**
 * `credential` as a handle of its own (id, fingerprint and secret as they are, the secret still out of JSON
 * and inspection), stamped with `generation`: what attempts go out with, and report their outcome with.
 */
export function stampedHandle(credential: Credential, generation: number): Credential {
  const handle = Object.defineProperties({}, Object.getOwnPropertyDescriptors(credential)) as Credential;
  STAMPS.set(handle, generation);
  return handle;
}

/** The generation `handle` was handed out in; undefined for a credential no pool handed out (the key's own). */
export function generationOf(handle: Credential): number | undefined {
  return STAMPS.get(handle);
}
