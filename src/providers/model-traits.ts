/**
 * What a codec needs to know of the model it encodes for, beyond the request:
 * the wire names one vendor of a shared dialect uses where another uses
 * others, and whether the vendor answers the model only as a stream. The model catalogue fills it per call (src/catalogue); a codec
 * without it speaks its dialect's defaults.
 */
export interface ModelTraits {
  /** OpenAI dialect: the field that bounds the answer's length (OpenAI's reasoning models refuse `max_tokens`). */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** OpenAI dialect: the field naming the end user (Zhipu's is `user_id`). */
  userField?: "user" | "user_id";
  /** OpenAI dialect: the field that takes a reasoning effort ("minimal" to "xhigh", as the catalogue fits it to the model). */
  reasoningEffortField?: "reasoning_effort";
  /** OpenAI dialect: how reasoning is switched on: `thinking: {type: "enabled"}` (DeepSeek, Zhipu) or `enable_thinking: true` (Qwen). */
  reasoningSwitch?: "thinking" | "enable_thinking";
  /**
   * The model reasons unless told not to, and this call does not reason: its
   * switch goes out off (`enable_thinking: false`, `thinking: {type: "disabled"}`).
   */
  reasoningOff?: boolean;
  /** OpenAI dialect: the field that takes a reasoning budget in tokens (Qwen's `thinking_budget`). */
  reasoningBudgetField?: "thinking_budget";
  /**
   * OpenAI dialect: the vendor's API documents `parallel_tool_calls` (OpenAI,
   * DashScope's compatible mode), so one tool call at a time can be asked for.
   * Unset: the field is not sent (DeepSeek, Moonshot and Zhipu document none).
   */
  parallelToolCallsField?: "parallel_tool_calls";
  /**
   * The vendor needs the reasoning text of earlier assistant turns back
   * (DeepSeek's thinking mode after tool calls): `reasoning_content` is sent
   * with them. Other vendors refuse or ignore the field, so it is sent only here.
   */
  replayReasoningText?: boolean;
  /** Anthropic: the model thinks adaptively (`thinking: {type: "adaptive"}`, the effort in `output_config`) and refuses a thinking budget. */
  adaptiveThinking?: boolean;
  /**
   * Any dialect: the vendor refuses a non-stream call to the model (as this
   * call is asked): the adapter streams a unary call and gathers the answer.
   */
  streamOnly?: boolean;
  /** OpenAI dialect: the vendor serves the model only on its Responses API, so the request goes to `/responses` in that API's shape. */
  endpoint?: "responses";
}
