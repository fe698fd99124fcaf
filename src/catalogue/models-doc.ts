// docs/models.md, written from the catalogue: every shipped model with its
// limits, capabilities, rules, price and source (scripts/models-doc.ts prints it;
// test/catalogue/models-doc.test.ts fails when the file is stale).
import { isGlob } from "../common/glob.js";
import type { Catalogue, ModelEntry } from "./catalogue.js";
import type { Facts, ParameterRules, Price, Reasoning } from "./schema.js";
import { API_NAMES } from "./schema.js";

const PREAMBLE = `# Models

<!-- Generated from src/catalogue/vendors/ by \`npx tsx scripts/models-doc.ts > docs/models.md\`; do not edit by hand (test/catalogue/models-doc.test.ts fails when it is stale). -->

The gateway's model catalogue says, for each vendor's models, how long a
context and an answer may be, what the model can do (tools, JSON mode and
schemas, images, reasoning), which request parameters it takes and in what
range, and what it costs. One file per vendor (\`src/catalogue/vendors/\`), a
row per model or family, each with the page and date it was checked against;
a row without a source does not validate, and the gateway does not start.

## What it drives

- **Fitting each request to the model that serves it**, per attempt (a
  fallback may go to another vendor): a parameter out of the model's range is
  clamped (Zhipu's temperature is 0-1) or scaled (ERNIE's is halved); one the
  model refuses or ignores is dropped (OpenAI's reasoning models take no
  \`stop\`, DeepSeek documents no \`seed\`); of parameters a model takes only
  one of (recent Claude models: \`temperature\` or \`top_p\`), the first is kept;
  \`max_tokens\` above the model's most is clamped, and one a caller leaves
  unset is sent to Anthropic, which requires one, as the model's most (what
  every other vendor writes up to by itself, and what budgets reserve), or,
  for a model whose most the catalogue does not know, as the provider's
  \`default_max_tokens\` (4096 unless set), and reported; a reasoning request is sent
  the way the model takes it (an effort, a token budget, on or off; Claude
  Opus 4.7 and 4.8 think adaptively, steered by an effort only); a system
  message a caller put mid-conversation stays there for the Claude models
  that take one (Opus 4.8 on) and joins the system prompt for older ones, as
  it does for Qwen, Gemini and ERNIE v1.
- **Every change is reported, never silent**: \`adjustments\` on ChatResponse
  and on the stream's ChatSummary, and on REST the \`x-switchboard-adjusted\`
  header, e.g. \`temperature=clamped(1.6->1.0); stop=dropped(o3 refuses stop)\`.
- **Requests a model cannot honour**: a JSON schema to a model with JSON mode
  only (DeepSeek, Moonshot, Zhipu, Qwen over DashScope's native API), or JSON
  mode to a model without it, follows the route's \`when_unsupported\` policy:
  \`degrade\` (the default: JSON mode instead, the schema given to the model
  in a system message put first, and reported; errors that name
  \`messages[i]\` still count the caller's messages) or \`refuse\`
  (Unimplemented, \`UNSUPPORTED_BY_PROVIDER\`). So does \`tool_choice:
  "required"\` with several tools to ERNIE v1, which can force only one named
  function: degraded, it is sent as auto. Images to a model whose row lists no
  "images" are never degraded: the route's next candidate that takes images
  serves the call, and with none the caller gets InvalidArgument naming the
  image part as the caller wrote it (\`messages[i].parts[j]\` on the typed API,
  \`messages[i].content[j]\` on \`/v1/chat/completions\`, \`messages.i.content.j\`
  on \`/v1/messages\`, \`input[i].content[j]\` on \`/v1/responses\`) and the model,
  before any vendor is asked (a model only its vendor's defaults describe
  gets them as sent). A user turn with nothing in it (content \`""\`, \`[]\` or
  empty text parts, with no other message of its turn beside it) to Claude,
  Gemini or ERNIE v1, whose APIs refuse one, is InvalidArgument naming its
  content field, before any vendor is asked; it is not dropped (the
  assistant's turn before it would then be last, which Claude continues
  rather than answers) nor filled with words the caller did not write.
  Log probabilities asked of a model while it reasons where its vendor
  refuses them (DeepSeek's thinking mode) are InvalidArgument naming
  \`logprobs\` (or \`top_logprobs\`), as for a vendor that gives none.
- **Budgets** reserve a call's cost by the model's most output tokens when the
  caller sets no \`max_tokens\`; **pricing** reads the prices below (reasoning
  tokens at the output price unless a row prices them apart; prompt-cache
  writes at the row's write prices, or the input price where it has none; a
  prompt over a long-context mark at that tier's prices, every token of it);
  **ListModels** and \`GET /v1/models\` show each model's capabilities, limits,
  prices (each at the price it is billed at: cache reads, five-minute and
  hour-long cache writes, reasoning, and the long-context tier with its mark,
  \`pricing.long_context\`), reasoning and source.

## Adding or overriding rows

Operators add rows (a fine-tuned model, a new release) or override shipped
ones (a negotiated price) in the configuration file, without a release. Keys
are the catalogue's in snake_case; a row needs a source:

\`\`\`yaml
models:
  - provider: openai
    model: "ft:gpt-4o-mini:acme:*"     # a name, or a family by glob
    context_window: 128000
    max_output_tokens: 16384
    price: { input: 0.3, cached_input: 0.15, output: 1.2, currency: USD }
    source: { url: https://wiki.example.com/contracts/openai, date: 2026-11-30 }
  - provider: zhipu
    model: glm-4.5
    price: { input: 1.5, output: 6, currency: CNY }   # only what differs
    source: { url: https://wiki.example.com/contracts/zhipu, date: 2026-11-30 }
catalogue:
  when_unsupported: degrade          # or refuse; a route may say its own
routes:
  - model: "deepseek-*"
    provider: deepseek
    when_unsupported: refuse
\`\`\`

A row's facts are layered over the vendor's defaults and any family rows it
matches. The snapshots a row lists (\`gpt-4o-mini-2024-07-18\`, named with
its price below; \`snapshots: [...]\` on an operator's row) are that very
model, at its price. Another dated or suffixed name (\`gpt-4o-2024-05-13\`,
\`o1-pro\`, \`gpt-4o-search-preview\`) takes the limits and rules of the
longest row it starts with, but not its price, since it may be billed
differently: it has no price (keys with a budget are refused it,
\`MODEL_UNPRICED\`) until a row or \`pricing.models\` gives it one. A later
version (\`claude-opus-4-9-20270101\` is not \`claude-opus-4\`) takes no row:
until it has one, it has what its families and the vendor's defaults say.
\`pricing.models\` (prices only, by name, glob, \`provider/model\` or a name
it starts with) still overrides the catalogue's prices.
`;

const CAPABILITIES: [keyof Facts, string][] = [
  ["tools", "tools"],
  ["parallelToolCalls", "parallel tools"],
  ["jsonMode", "JSON mode"],
  ["jsonSchema", "JSON schema"],
  ["jsonModeWithTools", "JSON output with tools"],
  ["imageInput", "images"],
  ["midConversationSystem", "system messages mid-conversation"],
];

export function renderModelsDoc(catalogue: Catalogue): string {
  const sections = catalogue.providers().map((provider) => vendorSection(catalogue, provider));
  return `${PREAMBLE}\n${sections.join("\n")}`;
}

function vendorSection(catalogue: Catalogue, provider: string): string {
  const vendor = catalogue.vendor(provider);
  const lines = [`## ${provider}`, ""];
  if (vendor) {
    const rules = [describeRules(vendor.defaults.parameters), systemPlacement(vendor.defaults)].filter(Boolean).join("; ");
    lines.push(`Every model: ${rules || "the contract's ranges"}${wireNote(vendor.defaults.wire)}. Source: [${vendor.defaults.source.date}](${vendor.defaults.source.url}).`);
    for (const family of vendor.models.filter((row) => isGlob(row.model))) {
      const can = CAPABILITIES.filter(([fact]) => family[fact] !== undefined).map(([fact, name]) => (family[fact] ? name : `no ${name}`));
      const says = [describeReasoning(family.reasoning ?? undefined), describeRules(family.parameters), ...can, family.wire?.streamOnly ? STREAM_ONLY : "", family.wire?.endpoint === "responses" ? RESPONSES_ONLY : ""].filter(Boolean).join("; ");
      lines.push(`Family \`${family.model}\` (under the rows of the models it matches, and all a new model has until it has a row): ${says}. Source: [${family.source.date}](${family.source.url}).`);
    }
    for (const [dialect, facts] of Object.entries(vendor.dialects ?? {})) {
      const differs = [
        describeRules(facts.parameters),
        facts.jsonSchema === false ? "no JSON schemas" : "",
        facts.requiredToolChoice === false ? 'tool_choice "required" only with one tool' : "",
        systemPlacement(facts),
      ]
        .filter(Boolean)
        .join("; ");
      lines.push(`Over the \`${dialect}\` dialect: ${differs}.`);
    }
    lines.push("");
  }
  lines.push("| model | context | max output | can | reasoning | own rules | price per 1M tokens | source |", "|---|---|---|---|---|---|---|---|");
  const everyModel = new Set(ruleList(vendor?.defaults.parameters));
  for (const entry of catalogue.models(provider)) lines.push(row(entry, everyModel));
  return `${lines.join("\n")}\n`;
}

/** Said of a vendor or dialect whose system prompt is one field: a system message mid-conversation moves to the start (system-placement.ts). */
function systemPlacement(facts: Facts): string {
  return facts.midConversationSystem === false ? "system messages moved to the start" : "";
}

/** A model's row; its rules without those every model of the vendor has (said once above the table). */
function row(entry: ModelEntry, everyModel: Set<string>): string {
  const { facts } = entry;
  const embedding = facts.kind === "embedding";
  const can = embedding ? `embeddings (${facts.embedding?.dimensions ?? "?"} dimensions${shorter(facts)}${facts.embedding?.maxBatch ? `, ${facts.embedding.maxBatch} a request` : ""})` : capabilities(facts);
  const cells = [
    `\`${entry.model}\``,
    count(facts.contextWindow),
    embedding ? "" : count(facts.maxOutputTokens),
    can,
    embedding ? "" : describeReasoning(facts.reasoning),
    embedding ? "" : ruleList(facts.parameters).filter((rule) => !everyModel.has(rule)).join("; "),
    [describePrice(facts.price, embedding), describeSnapshots(entry.snapshots)].filter(Boolean).join("; "),
    `[${entry.source.date}](${entry.source.url})`,
  ];
  return `| ${cells.join(" | ")} |`;
}

function capabilities(facts: ModelEntry["facts"]): string {
  return ["chat", ...CAPABILITIES.filter(([key]) => facts[key] === true).map(([, name]) => name), facts.wire.streamOnly ? STREAM_ONLY : "", facts.wire.endpoint === "responses" ? RESPONSES_ONLY : ""].filter(Boolean).join(", ");
}

/** Said of a model its vendor answers only as a stream (ModelTraits.streamOnly). */
const STREAM_ONLY = "stream only (a unary call is gathered from a stream)";

/** Said of a model OpenAI serves only on its Responses API (ModelTraits.endpoint). */
const RESPONSES_ONLY = "sent to the Responses API (`/responses`; OpenAI serves it there only)";

function shorter(facts: ModelEntry["facts"]): string {
  const dims = facts.embedding?.shorterDimensions;
  if (!dims) return "";
  return dims === "any" ? ", shorter on request" : `, or ${dims.join("/")}`;
}

function describeReasoning(reasoning: Reasoning | undefined): string {
  if (!reasoning) return "";
  const how =
    reasoning.control === "effort"
      ? `effort ${reasoning.efforts!.join("/")}`
      : reasoning.control === "adaptive"
        ? `adaptive, effort ${reasoning.efforts!.join("/")}`
        : reasoning.control === "budget"
          ? `budget ${count(reasoning.budget!.min)}-${count(reasoning.budget!.max)} tokens`
          : reasoning.control === "toggle"
            ? "on/off"
            : "not steerable";
  const parts = [reasoning.always ? "always" : reasoning.byDefault ? "unless told not to (told, when not asked)" : "when asked", how];
  if (reasoning.defaultBudget !== undefined) parts.push(`default budget ${count(reasoning.defaultBudget)} tokens (reserved when a call gives none)`);
  if (reasoning.levels) parts.push(`its own level field takes ${reasoning.levels.join("/")}`);
  if (reasoning.returnsText) parts.push("text returned");
  if (reasoning.replay === "signed") parts.push("signed blocks sent back");
  if (reasoning.replay === "text") parts.push("text sent back after tool calls");
  if (reasoning.streamOnly) parts.push("only in a stream (a unary call is gathered from one)");
  const rules = describeRules(reasoning.parameters);
  if (rules) parts.push(`while reasoning: ${rules}`);
  if (reasoning.noLogprobs) parts.push("logprobs refused while reasoning");
  return parts.join("; ");
}

/** Parameter rules in words, with the API's names. */
export function describeRules(rules: ParameterRules | undefined): string {
  return ruleList(rules).join("; ");
}

function ruleList(rules: ParameterRules | undefined): string[] {
  if (!rules) return [];
  const out: string[] = [];
  for (const [parameter, range] of Object.entries(rules.ranges ?? {})) {
    out.push(`${API_NAMES[parameter as keyof typeof API_NAMES]} ${range.min}-${range.max} (${range.fit === "scale" ? "scaled" : "clamped"})`);
  }
  if (rules.minMaxTokens) out.push(`max_tokens from ${rules.minMaxTokens}`);
  for (const [parameter, value] of Object.entries(rules.fixed ?? {})) out.push(`${API_NAMES[parameter as keyof typeof API_NAMES]} only ${value}`);
  if (rules.unsupported?.length) out.push(`refuses ${rules.unsupported.map((p) => API_NAMES[p]).join(", ")}`);
  if (rules.ignored?.length) out.push(`ignores ${rules.ignored.map((p) => API_NAMES[p]).join(", ")}`);
  for (const group of rules.exclusive ?? []) out.push(`${group.map((p) => API_NAMES[p]).join(" or ")}, not both`);
  return out;
}

function wireNote(wire: Facts["wire"]): string {
  const notes: string[] = [];
  if (wire?.maxTokensField && wire.maxTokensField !== "max_tokens") notes.push(`max_tokens sent as \`${wire.maxTokensField}\``);
  if (wire?.userField === "user_id") notes.push("user sent as `user_id`");
  return notes.length > 0 ? `; ${notes.join(", ")}` : "";
}

/** The other names of a row's model, at its price. */
function describeSnapshots(snapshots: readonly string[]): string {
  return snapshots.length > 0 ? `the same for ${snapshots.map((name) => `\`${name}\``).join(", ")}` : "";
}

function describePrice(price: Price | undefined, embedding: boolean): string {
  if (!price) return "";
  const long = price.longContext;
  const tier = long ? `; over ${count(long.above)} prompt tokens: ${describeTokenPrices(long, embedding)}` : "";
  return `${price.currency} ${describeTokenPrices(price, embedding)}${tier}`;
}

/** "in 3 (cached 0.3, cache writes 3.75, 1 h 6) out 15": what a row sets, no fallback. */
function describeTokenPrices(price: Omit<Price, "currency" | "longContext">, embedding: boolean): string {
  const cache = [
    price.cachedInput !== undefined ? `cached ${price.cachedInput}` : "",
    price.cacheWrite !== undefined ? `cache writes ${price.cacheWrite}` : "",
    price.cacheWriteHour !== undefined ? `1 h ${price.cacheWriteHour}` : "",
  ].filter(Boolean);
  const cached = cache.length > 0 ? ` (${cache.join(", ")})` : "";
  const output = embedding ? "" : ` out ${price.output}`;
  const reasoning = price.reasoning !== undefined ? `, reasoning ${price.reasoning}` : "";
  const wholeAnswer = price.answerAtReasoningPrice ? " (the whole answer of a call that reasons)" : "";
  return `in ${price.input}${cached}${output}${reasoning}${wholeAnswer}`;
}

function count(value: number | undefined): string {
  return value === undefined ? "" : value.toLocaleString("en-US");
}
