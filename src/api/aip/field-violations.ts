import { badRequestOf, type FieldViolation } from "../../common/bad-request.js";

/**
 * The violations one answer lists: enough to fix a request by, while a
 * hostile one (100,000 empty messages) cannot make the answer, and its log
 * line, megabytes.
 */
export const MAX_FIELD_VIOLATIONS = 20;

/**
 * Collects the problems with a request, so one round trip shows them (the
 * first MAX_FIELD_VIOLATIONS, then a note of how many more there are);
 * `throwIfAny` raises them as one InvalidArgument through `badRequestOf`
 * (google.rpc.BadRequest, ErrorInfo INVALID_ARGUMENT).
 */
export class FieldViolations {
  private readonly list: FieldViolation[] = [];
  /** Past the list: counted, not kept. */
  private unlisted = 0;
  private firstUnlisted = "";

  add(field: string, description: string): void {
    if (this.list.length < MAX_FIELD_VIOLATIONS) this.list.push({ field, description });
    else if (this.unlisted++ === 0) this.firstUnlisted = field;
  }

  throwIfAny(): void {
    if (this.list.length === 0) return;
    if (this.unlisted === 0) throw badRequestOf(this.list);
    const more = `${this.unlisted} more violation${this.unlisted === 1 ? "" : "s"}`;
    throw badRequestOf([...this.list, { field: this.firstUnlisted, description: `not listed, from this field on: ${more} (an answer lists the first ${MAX_FIELD_VIOLATIONS})` }]);
  }
}
