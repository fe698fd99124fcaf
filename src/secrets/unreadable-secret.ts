import { KeyPoolError } from "./key-pool-error.js";

/**
 * A staged key's reference that cannot be read now (the variable or file entry is gone, Vault
 * cannot be read, the version was deleted): told apart from the other refusals so that a start
 * that cannot re-apply a rotation asks for readable references only when that is what is wrong.
 */
export class UnreadableSecret extends KeyPoolError {
  constructor(problem: string) {
    super("failed_precondition", `cannot read the secret: ${problem}`);
  }
}
