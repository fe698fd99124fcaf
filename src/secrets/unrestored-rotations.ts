import type { HealthState } from "../common/health-state.js";

/** The health dependency that names the rotations a start could not re-apply. */
export const UNRESTORED_ROTATIONS = "key_rotations";

/**
 * The operators' rotations recorded before this start that could not be re-applied (their
 * secret cannot be read now, mostly), shown in health as a degraded dependency (`key_rotations`) that
 * does not fail readiness: the pool serves the keys that remain, the keys those rotations
 * retired stay retired. Anyone who reaches the port may read health, so it names the provider
 * and credential id, never the reference (the start-up warning does). A rotation counts until
 * an operator stages a key under its credential id again, or the next start re-applies it.
 */
export class UnrestoredRotations {
  private readonly unrestored = new Map<string, Set<string>>();

  constructor(private readonly health: HealthState | undefined) {}

  add(provider: string, credentialId: string): void {
    const ids = this.unrestored.get(provider) ?? new Set();
    this.unrestored.set(provider, ids.add(credentialId));
    this.publish();
  }

  /** An operator staged a key under this id: the rotation it recorded is superseded. */
  resolved(provider: string, credentialId: string): void {
    if (!this.unrestored.get(provider)?.delete(credentialId)) return;
    if (this.unrestored.get(provider)!.size === 0) this.unrestored.delete(provider);
    this.publish();
  }

  private publish(): void {
    const named = [...this.unrestored].map(([provider, ids]) => `${provider}: ${[...ids].map((id) => `"${id}"`).join(", ")}`);
    this.health?.setDependency(UNRESTORED_ROTATIONS, {
      ok: named.length === 0,
      detail: `key rotations recorded before this start could not be re-applied (${named.join("; ")}; the log says why): the keys they retired stay retired, the remaining keys serve`,
      required: false,
    });
  }
}
