import { dependencyCause } from "../common/dependency-cause.js";
import type { HealthState } from "../common/health-state.js";

/**
 * The store's one health entry (`store` on /healthz and grpc.health), fed by
 * two watchers: the ledger, which sees whether writes succeed, and the key
 * directory, which sees whether reads answer in time (a hung server refuses
 * nothing, so only a read's deadline tells). Degraded while either fails, so
 * neither's recovery hides the other's failure.
 */
export class StoreHealth {
  private writeError: string | undefined;
  private readError: string | undefined;

  constructor(
    private readonly health: HealthState,
    private readonly dialect: string,
  ) {
    this.publish();
  }

  /** Whether the store took the last write (the ledger's rows, its probe). */
  readonly writes = (writable: boolean, error?: string): void => {
    this.writeError = writable ? undefined : (error ?? "");
    this.publish();
  };

  /** Whether the store answered the last read within its deadline (key lookups, the change poll). */
  readonly reads = (answering: boolean, error?: string): void => {
    if (answering === (this.readError === undefined)) return;
    this.readError = answering ? undefined : (error ?? "");
    this.publish();
  };

  private publish(): void {
    const problems = [
      this.readError !== undefined && `does not answer reads (${dependencyCause(this.readError)}); calls with keys not in the gateway's cache are refused`,
      this.writeError !== undefined && `cannot be written (${dependencyCause(this.writeError)}); calls go on, their usage rows wait in the journal`,
    ].filter((problem): problem is string => typeof problem === "string");
    this.health.setDependency("store", { ok: problems.length === 0, detail: `${this.dialect} ${problems.join("; ")}`, required: false });
  }
}
