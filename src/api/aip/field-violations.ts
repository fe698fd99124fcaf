import { badRequest, type FieldViolation } from "../../common/bad-request.js";

/**
 * Collects every problem with a request, so one round trip shows them all;
 * `throwIfAny` raises them as one InvalidArgument through `badRequest`
 * (google.rpc.BadRequest, ErrorInfo INVALID_ARGUMENT).
 */
export class FieldViolations {
  private readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw badRequest(...this.list);
  }
}
