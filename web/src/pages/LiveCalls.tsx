import { useMemo, useState } from "react";
import { KEPT, useCallsFeed } from "../calls-feed";
import { formatCount, formatDuration, formatMoney, formatTime } from "../format";
import { Field } from "../components/Field";
import { ScrollTable } from "../components/ScrollTable";
import { VisibleName } from "../components/VisibleName";

/** The calls this instance serves as they finish (since sign-in), newest first; filterable; never their content. */
export function LiveCallsPage() {
  const feed = useCallsFeed();
  const [text, setText] = useState("");
  const [status, setStatus] = useState<"all" | "ok" | "errors">("all");
  const [paused, setPaused] = useState<typeof feed.calls>();
  const source = paused ?? feed.calls;
  const needle = text.trim().toLowerCase();
  const calls = useMemo(
    () =>
      source.filter(
        ({ call }) =>
          (status === "all" || (status === "ok") === (call.status === "ok")) &&
          (!needle || [call.key, call.team, call.requestedModel, call.model, call.provider, call.surface, call.requestId, call.errorReason].some((t) => t.toLowerCase().includes(needle))),
      ),
    [source, status, needle],
  );
  return (
    <>
      <div className="toolbar">
        <Field id="calls-filter" label="Filter">
          <input id="calls-filter" type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="key, model, provider, request id" />
        </Field>
        <Field id="calls-status" label="Status">
          <select id="calls-status" value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            <option value="all">All</option>
            <option value="ok">Succeeded</option>
            <option value="errors">Failed</option>
          </select>
        </Field>
        <button type="button" className="push" aria-pressed={!!paused} onClick={() => setPaused(paused ? undefined : feed.calls)}>
          {paused ? "Resume" : "Pause"}
        </button>
      </div>
      <p className="note" aria-live="polite">
        {feed.state === "live" ? "Live" : feed.state === "connecting" ? "Connecting…" : feed.state === "retrying" ? `Reconnecting (${feed.error?.reason ?? "error"})…` : "Refused"}: {formatCount(calls.length)} of{" "}
        {/* The page keeps the newest KEPT calls: past them, say so rather than pass the last KEPT off as all. */}
        {feed.seen > feed.calls.length ? `the last ${formatCount(KEPT)} calls (${formatCount(feed.seen)} since sign-in)` : `${formatCount(feed.calls.length)} calls since sign-in`}
        {paused ? " (paused)" : ""}.
      </p>
      <ScrollTable label="Live calls" className="calls" columns={["Time", "Key", "Call", "Model", "Provider", "Status", { label: "Latency", num: true }, { label: "Tokens in / out", num: true }, { label: "Cost", num: true }, "Notes"]}>
            {calls.map(({ seq, call }) => (
              <tr key={seq} data-request-id={call.requestId}>
                <td className="nowrap">{formatTime(call.finishTime)}</td>
                <td className="mono">{call.key.replace(/^keys\//, "") || "–"}</td>
                <td>
                  {call.method.replace(/^switchboard\.v1\.AIService\//, "").replace(/^REST /, "")}
                  <span className="muted small block">{call.surface}</span>
                </td>
                <td>
                  {call.requestedModel ? <VisibleName name={call.requestedModel} /> : "–"}
                  {call.model && call.model !== call.requestedModel && (
                    <span className="muted">
                      {" "}
                      → <VisibleName name={call.model} />
                    </span>
                  )}
                </td>
                <td>{call.provider || "–"}</td>
                <td>
                  <span className={`badge ${call.status === "ok" ? "ok" : "bad"}`}>{call.status}</span>
                  {call.errorReason && <span className="muted small block">{call.errorReason}</span>}
                </td>
                <td className="num nowrap">
                  {formatDuration(call.latency)}
                  {call.timeToFirstToken && <span className="muted small block">first token {formatDuration(call.timeToFirstToken)}</span>}
                </td>
                <td className="num nowrap">
                  {formatCount(call.promptTokens)} / {formatCount(call.completionTokens)}
                </td>
                <td className="num">{call.cost ? formatMoney(call.cost) : "–"}</td>
                <td className="small">
                  {[call.cached && "cache hit", call.downgraded && "economy model", call.attempts > 1 && `${call.attempts} attempts`].filter(Boolean).join(", ") || <span className="muted">–</span>}
                </td>
              </tr>
            ))}
            {calls.length === 0 && (
              <tr>
                <td colSpan={10}>No call yet: calls appear here as they finish.</td>
              </tr>
            )}
      </ScrollTable>
    </>
  );
}
