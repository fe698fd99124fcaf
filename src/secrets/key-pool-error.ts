/** An admin action the pool's state does not allow; `code` maps to a Connect code. */
export class KeyPoolError extends Error {
  constructor(
    readonly code: "not_found" | "already_exists" | "failed_precondition" | "invalid_argument",
    message: string,
    /** The request field at fault, for invalid_argument. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "KeyPoolError";
  }
}
