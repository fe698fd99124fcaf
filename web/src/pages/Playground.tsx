import { createClient } from "@connectrpc/connect";
import { useQuery } from "@tanstack/react-query";
import { useMemo, useRef, useState, type FormEvent } from "react";
import { AIService, type ChatSummary } from "../../../gen/ts/switchboard/v1/ai_service_pb.js";
import { FinishReason, Role } from "../../../gen/ts/switchboard/v1/chat_pb.js";
import { Capability } from "../../../gen/ts/switchboard/v1/models_pb.js";
import { useCallsFeed } from "../calls-feed";
import { ErrorNote } from "../components/ErrorNote";
import { formatCount, formatDuration, formatMoney } from "../format";
import { gatewayTransport } from "../transport";
import { playgroundModel } from "../playground-model";
import { Field } from "../components/Field";
import { ScrollTable } from "../components/ScrollTable";

const FINISH_WORDS: Partial<Record<FinishReason, string>> = {
  [FinishReason.STOP]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.TOOL_CALLS]: "tool calls",
  [FinishReason.CONTENT_FILTER]: "content filter",
  [FinishReason.REFUSAL]: "refusal",
  [FinishReason.CONTEXT_WINDOW_EXCEEDED]: "context window full",
};

/** A streamed chat with any model a key may use: the answer as it comes, then the attempts and (from the live feed) the cost. */
export function PlaygroundPage({ adminKey }: { adminKey: string }) {
  const [which, setWhich] = useState<"console" | "other">("console");
  const [otherKey, setOtherKey] = useState("");
  const key = which === "console" ? adminKey : otherKey.trim();
  const client = useMemo(() => (key ? createClient(AIService, gatewayTransport(key)) : undefined), [key]);
  const models = useQuery({
    queryKey: ["playground-models", key],
    enabled: !!client,
    queryFn: async () => (await client!.listModels({})).models.filter((m) => m.capabilities.includes(Capability.STREAMING)),
  });
  const [model, setModel] = useState("");
  const [prompt, setPrompt] = useState("");
  const [answer, setAnswer] = useState("");
  const [summary, setSummary] = useState<ChatSummary>();
  const [error, setError] = useState<unknown>();
  const [streaming, setStreaming] = useState(false);
  const stop = useRef<AbortController>(undefined);
  const feed = useCallsFeed();
  const call = summary && feed.calls.find((fed) => fed.call.requestId === summary.requestId)?.call;
  const chosenModel = playgroundModel(model, models.data);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    if (!client || !chosenModel || !prompt.trim()) return;
    const abort = new AbortController();
    stop.current = abort;
    setAnswer("");
    setSummary(undefined);
    setError(undefined);
    setStreaming(true);
    try {
      for await (const res of client.chatStream({ model: chosenModel, messages: [{ role: Role.USER, content: prompt }] }, { signal: abort.signal })) {
        if (res.event.case === "delta") {
          const piece = res.event.value.content;
          setAnswer((text) => text + piece);
        } else if (res.event.case === "summary") setSummary(res.event.value);
      }
    } catch (err) {
      setError(err);
    } finally {
      setStreaming(false);
    }
  };

  return (
    <div className="playground">
      <form onSubmit={send} className="panel">
        <fieldset>
          <legend>Call with</legend>
          <label className="check">
            <input type="radio" name="which-key" checked={which === "console"} onChange={() => setWhich("console")} /> This console's key
          </label>
          <label className="check">
            <input type="radio" name="which-key" checked={which === "other"} onChange={() => setWhich("other")} /> Another gateway key
          </label>
          {which === "other" && (
            <Field id="playground-key" label="Gateway key">
              <input id="playground-key" type="password" autoComplete="off" spellCheck={false} value={otherKey} onChange={(e) => setOtherKey(e.target.value)} placeholder="sk-sb-…" />
            </Field>
          )}
        </fieldset>
        <Field id="playground-model" label="Model">
          <select id="playground-model" value={chosenModel} onChange={(e) => setModel(e.target.value)} disabled={!models.data?.length}>
            {models.data?.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id} ({m.provider})
              </option>
            ))}
          </select>
        </Field>
        <ErrorNote error={models.error} title="Could not list this key's models" />
        <Field id="playground-prompt" label="Message">
          <textarea id="playground-prompt" rows={4} value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="Say hello" />
        </Field>
        <div className="actions">
          {streaming && (
            <button type="button" onClick={() => stop.current?.abort()}>
              Stop
            </button>
          )}
          <button type="submit" className="primary" disabled={streaming || !chosenModel || !prompt.trim()}>
            {streaming ? "Streaming…" : "Send"}
          </button>
        </div>
      </form>

      <section className="panel" aria-labelledby="answer-heading">
        <h2 id="answer-heading">Answer</h2>
        <ErrorNote error={error} title="The call failed" />
        <div className="answer" aria-live="polite" aria-busy={streaming} data-testid="playground-answer">
          {answer || <span className="muted">{streaming ? "Waiting for the first token…" : "Nothing yet."}</span>}
        </div>
        {summary && (
          <>
            <dl className="facts">
              <dt>Served by</dt>
              <dd>
                {summary.provider} / {summary.model}
                {summary.downgraded && " (economy model)"}
                {summary.cached && " (cache hit)"}
              </dd>
              <dt>Tokens</dt>
              <dd>
                {formatCount(summary.usage?.promptTokens ?? 0)} in, {formatCount(summary.usage?.completionTokens ?? 0)} out{summary.usageEstimated && " (estimated)"}
              </dd>
              <dt>Finish</dt>
              <dd>{FINISH_WORDS[summary.finishReason] ?? "–"}</dd>
              <dt>Cost</dt>
              <dd data-testid="playground-cost">{call ? (call.cost ? formatMoney(call.cost) : "not priced") : feed.state === "live" ? "waiting for the call to finish…" : "unknown (the live feed is not connected)"}</dd>
              <dt>Request id</dt>
              <dd className="mono">{summary.requestId}</dd>
            </dl>
            <h3>Attempts</h3>
            <ScrollTable label="Attempts" columns={["#", "Provider", "Model", "Outcome", { label: "Duration", num: true }]}>
                  {summary.attempts.map((attempt, i) => (
                    <tr key={i}>
                      <td>{i + 1}</td>
                      <td>{attempt.provider}</td>
                      <td>{attempt.model}</td>
                      <td>
                        <span className={`badge ${attempt.outcome === "ok" ? "ok" : "bad"}`}>{attempt.outcome}</span>
                        {attempt.hedged && " (hedge)"}
                      </td>
                      <td className="num">{formatDuration(attempt.duration)}</td>
                    </tr>
                  ))}
            </ScrollTable>
          </>
        )}
      </section>
    </div>
  );
}
