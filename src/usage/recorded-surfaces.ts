// The APIs a ledger row names as the one its caller spoke (`surface`): the
// agent surfaces. The typed API and chat completions record none ("").

export const ANTHROPIC_MESSAGES = "anthropic_messages";
export const OPENAI_RESPONSES = "openai_responses";

/** Every surface a row may name, for the report filter that selects one. */
export const RECORDED_SURFACES: readonly string[] = [ANTHROPIC_MESSAGES, OPENAI_RESPONSES];

/**
 * How reports (`switchboard usage --by surface`) name the calls that record no
 * surface: in parentheses, as no `--surface` filter takes it, and not
 * "(other)", which GetUsageStats and the console give to folded groups.
 */
export const UNRECORDED_SURFACE_LABEL = "(typed API or chat completions)";
