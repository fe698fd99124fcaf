import type { HealthState } from "../common/health-state.js";

/**
 * Credentials health names as degraded under one dependency that does not
 * fail readiness, by provider, each with what is noted of it (the actions
 * not applied here; nothing, for a rotation not re-applied). Anyone who
 * reaches the port may read health, so it names providers and credential
 * ids, never a secret reference (the log lines do). A credential is named
 * until it is resolved.
 */
export class CredentialHealthNotes {
  /** provider → credential id → notes, in the order they came. */
  private readonly notes = new Map<string, Map<string, Set<string>>>();

  constructor(
    private readonly health: HealthState | undefined,
    private readonly dependency: string,
    /** The dependency's detail, given the credentials named ("openai: "k2" (stage); anthropic: "k1""). */
    private readonly detail: (named: string) => string,
  ) {}

  add(provider: string, credentialId: string, note?: string): void {
    const ids = this.notes.get(provider) ?? new Map<string, Set<string>>();
    const noted = ids.get(credentialId) ?? new Set<string>();
    if (note !== undefined) noted.add(note);
    this.notes.set(provider, ids.set(credentialId, noted));
    this.publish();
  }

  resolved(provider: string, credentialId: string): void {
    if (!this.notes.get(provider)?.delete(credentialId)) return;
    if (this.notes.get(provider)!.size === 0) this.notes.delete(provider);
    this.publish();
  }

  /** This provider's credentials as health names them: `"third" (stage, promote)`, or `"third"` with nothing noted. */
  named(provider: string): string[] {
    return [...(this.notes.get(provider) ?? [])].map(([id, noted]) => (noted.size > 0 ? `"${id}" (${[...noted].join(", ")})` : `"${id}"`));
  }

  private publish(): void {
    const named = [...this.notes.keys()].map((provider) => `${provider}: ${this.named(provider).join(", ")}`);
    this.health?.setDependency(this.dependency, { ok: named.length === 0, detail: this.detail(named.join("; ")), required: false });
  }
}
