/** The google.rpc.ErrorInfo of a refusal that has a reason of its own (else its code's name is the reason). */
export interface KeyPoolErrorInfo {
  reason: string;
  metadata: Record<string, string>;
}

/** An admin action the pool's state does not allow; `code` maps to a Connect code. */
export class KeyPoolError extends Error {
  constructor(
    readonly code: "not_found" | "already_exists" | "failed_precondition" | "invalid_argument",
    message: string,
    /** The request field at fault, for invalid_argument. */
    readonly field?: string,
    readonly info?: KeyPoolErrorInfo,
  ) {
    super(message);
    this.name = "KeyPoolError";
  }
}
