import { looksLikeSecret } from "../api/admin/secret-lookalike.js";
import { holdsSecret, maskLogText } from "../providers/redact.js";
import { fingerprint } from "../secrets/credential.js";

/** How `secrets rm` refers to a name shown masked: its fingerprint after '#', which no name starts with (SECRET_NAME). */
const BY_FINGERPRINT = /^#([0-9a-f]{8})$/;

/**
 * A stored secret's name as the CLI prints it. A name that looks like a
 * secret (a key pasted where the name goes, stored before `secrets set`
 * refused such names) is shown masked as log lines mask keys ("sk-pro…"), or
 * "[redacted]" when that leaves it whole (one of the gateway's own secrets),
 * followed by its fingerprint ("#1a2b3c4d"), by which `secrets rm` finds it.
 */
export function shownSecretName(name: string, ownSecrets: readonly string[]): string {
  if (!looksLikeSecret(name, ownSecrets)) return name;
  const masked = maskLogText(name);
  return `${masked === name || holdsSecret(masked, ownSecrets) ? "[redacted]" : masked} #${fingerprint(name)}`;
}

/**
 * The stored name `given` refers to: itself, or, for "#FINGERPRINT", the one
 * name shown masked (shownSecretName) with that fingerprint; undefined when
 * no such name is stored.
 */
export function storedSecretName(given: string, stored: Iterable<string>, ownSecrets: readonly string[]): string | undefined {
  const wanted = BY_FINGERPRINT.exec(given)?.[1];
  if (wanted === undefined) return given;
  const matching = [...stored].filter((name) => looksLikeSecret(name, ownSecrets) && fingerprint(name) === wanted);
  return matching.length === 1 ? matching[0] : undefined;
}

/** The note under a listing that showed `masked` names masked: where they come from, and how to be rid of them. */
export function maskedNamesNote(masked: number, removal: string): string {
  return (
    `switchboard: ${masked === 1 ? "1 name above looks" : `${masked} names above look`} like a key or token, so ${masked === 1 ? "it is" : "they are"} shown masked with ${masked === 1 ? "its" : "their"} fingerprint ` +
    `(stored before such names were refused): store each secret again under a plain name (secrets set openai), point its references there, then ${removal}\n`
  );
}
