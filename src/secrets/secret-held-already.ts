import { KeyPoolError } from "./key-pool-error.js";

/**
 * The refusal of a key whose secret a key of the pool holds already (one secret, one key in
 * service), naming that key: a start re-applying a recorded rotation reads it as "the rotation's
 * key is that key" (a configured key holding the secret the rotation put in service).
 */
export class SecretHeldAlready extends KeyPoolError {
  constructor(
    /** The pool id of the key holding the secret ("openai/env"). */
    readonly holder: string,
    message: string,
  ) {
    super("already_exists", message);
  }
}
