import { ConfigError } from "../config/config-error.js";
import type { SecretGone } from "./secret-gone.js";

/**
 * A version asked for by number that the source answered it has no more
 * (deleted, destroyed): a definite answer, unlike an outage, so a start that
 * needs it can leave the key out rather than refuse (provider-pools.ts).
 */
export class SecretVersionGone extends ConfigError {
  constructor(
    source: string,
    field: string,
    problem: string,
    readonly gone: SecretGone,
  ) {
    super(source, field, problem);
    this.name = "SecretVersionGone";
  }
}
