import { ConfigError } from "../config/config-error.js";
import { fingerprint } from "./credential.js";

/**
 * One version of a watched secret as the key pools tell versions apart: its
 * number and its value's fingerprint. A number alone does not name a value:
 * Vault numbers a secret's versions from 1 again once it is deleted
 * (`kv metadata delete`) and written anew, so the new version 1 is another key
 * than the old one. The fingerprint is the one logs and ListProviders show
 * already (credential.ts), never the value.
 */
export interface VersionIdentity {
  version: number;
  /** Undefined for a verdict recorded before fingerprints were: it holds for any value at that number. */
  fingerprint: string | undefined;
}

/** The identity of `value`, read at `version`. */
export function identityOf(version: number, value: string): VersionIdentity {
  return { version, fingerprint: fingerprint(value) };
}

/** Whether two identities name the same version of the same value (one recorded without a fingerprint matches on its number). */
export function sameVersion(a: VersionIdentity, b: VersionIdentity): boolean {
  return a.version === b.version && (a.fingerprint === undefined || b.fingerprint === undefined || a.fingerprint === b.fingerprint);
}

/** A set key for an identity ("3#1a2b3c4d"). */
export function identityKey(identity: VersionIdentity): string {
  return `${identity.version}#${identity.fingerprint ?? ""}`;
}

/**
 * Refuses a version number that is not a positive whole number, as the source's fault (a
 * broken or hostile Vault, or a proxy, answering "version": -5 or 1e21): such a number names
 * no version, and a number lower than the keys in use must not pass for an older one.
 */
export function checkVersionNumber(ref: string, version: number): void {
  if (isVersionNumber(version)) return;
  throw new ConfigError(ref, "", `the source answered version ${String(version)}, which is no version number (a positive whole number): the answer is not used`);
}

/** Whether a source's answer holds a version number: a positive safe integer (not -5, 1.5, 1e21, NaN nor "3"). */
export function isVersionNumber(version: unknown): version is number {
  return typeof version === "number" && Number.isSafeInteger(version) && version >= 1;
}
