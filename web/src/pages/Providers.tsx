import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import type { ProviderLiveStats } from "../../../gen/ts/switchboard/v1/admin_console_pb.js";
import { CredentialState, type Provider, type ProviderCredential } from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Confirm, Dialog } from "../components/Dialog";
import { ErrorNote } from "../components/ErrorNote";
import { GuardedButton } from "../components/GuardedButton";
import { useRights } from "../rights";
import { formatCount, formatDuration, formatTime, percent } from "../format";
import { BREAKER_WORDS } from "./Overview";
import { ScrollTable } from "../components/ScrollTable";

const STATE_WORDS: Record<CredentialState, string> = {
  [CredentialState.UNSPECIFIED]: "–",
  [CredentialState.ACTIVE]: "active",
  [CredentialState.STANDBY]: "canary",
  [CredentialState.COOLING_DOWN]: "cooling down",
  [CredentialState.DISABLED]: "disabled",
  [CredentialState.DRAINING]: "draining",
  [CredentialState.RETIRED]: "retired",
};

type Action = { kind: "promote" | "rollback" | "disable"; credential: ProviderCredential };

const ACTIONS = {
  promote: { title: "Promote this canary?", verb: "Promote", explain: "It becomes active now, whatever its progress; the key it replaces drains and retires." },
  rollback: { title: "Roll back this canary?", verb: "Roll back", explain: "It is withdrawn and retired; the active keys keep all the traffic." },
  disable: { title: "Disable this key?", verb: "Disable", explain: "It is taken out of rotation for good (probes do not bring it back); stage it again to return it." },
} as const;

/** Every provider's pool of vendor keys (ids and fingerprints, never a secret), its breaker and recent errors, with stage, promote, roll back and disable. */
export function ProvidersPage() {
  const queryClient = useQueryClient();
  const providers = useQuery(AdminService.method.listProviders, {}, { refetchInterval: 5_000 });
  const live = useQuery(AdminService.method.getLiveStats, {}, { refetchInterval: 5_000 });
  const [action, setAction] = useState<Action>();
  const [staging, setStaging] = useState<Provider>();
  const done = () => {
    setAction(undefined);
    void queryClient.invalidateQueries();
  };
  const promote = useMutation(AdminService.method.promoteKey, { onSuccess: done });
  const rollback = useMutation(AdminService.method.rollbackKey, { onSuccess: done });
  const disable = useMutation(AdminService.method.disableKey, { onSuccess: done });
  const mutation = action ? { promote, rollback, disable }[action.kind] : undefined;
  const start = (next: Action) => {
    promote.reset();
    rollback.reset();
    disable.reset();
    setAction(next);
  };

  return (
    <>
      <ErrorNote error={providers.error ?? live.error} title="Could not load the providers" />
      {providers.data?.providers.length === 0 && <p>No provider is configured: give the gateway a vendor key (OPENAI_API_KEY, …).</p>}
      {providers.data?.providers.map((provider) => (
        <ProviderPanel
          key={provider.name}
          provider={provider}
          stats={live.data?.providers.find((p) => p.name === provider.name)}
          since={live.data?.startTime}
          onAction={start}
          onStage={() => setStaging(provider)}
        />
      ))}
      <Confirm
        open={!!action}
        title={action ? ACTIONS[action.kind].title : ""}
        action={action ? ACTIONS[action.kind].verb : ""}
        danger={action?.kind !== "promote"}
        busy={mutation?.isPending}
        onClose={() => setAction(undefined)}
        onConfirm={() => action && mutation?.mutate({ name: action.credential.name })}
      >
        <p>
          <span className="mono">{action?.credential.name}</span> (fingerprint <span className="mono">{action?.credential.fingerprint}</span>).
        </p>
        <p>{action && ACTIONS[action.kind].explain}</p>
        <ErrorNote error={mutation?.error} title="The gateway refused" />
      </Confirm>
      <Dialog open={!!staging} title={`Stage a key for ${staging?.name.replace(/^providers\//, "") ?? ""}`} onClose={() => setStaging(undefined)}>
        {staging && (
          <StageForm
            provider={staging}
            onDone={() => {
              setStaging(undefined);
              void queryClient.invalidateQueries();
            }}
            onCancel={() => setStaging(undefined)}
          />
        )}
      </Dialog>
    </>
  );
}

function ProviderPanel({ provider, stats, since, onAction, onStage }: { provider: Provider; stats?: ProviderLiveStats; since?: Timestamp; onAction(action: Action): void; onStage(): void }) {
  const short = provider.name.replace(/^providers\//, "");
  const headingId = useId();
  const refusal = useRights().vendorKeys;
  const attempts = Number(stats?.attempts ?? 0n);
  const failed = Number(stats?.failedAttempts ?? 0n);
  const credentials = provider.credentials.filter((c) => c.state !== CredentialState.RETIRED);
  const retired = provider.credentials.length - credentials.length;
  return (
    <section className="panel provider" aria-labelledby={headingId} data-provider={short}>
      <header className="panel-head">
        <h2 id={headingId}>
          {short} <span className="muted">{provider.dialect}</span>
        </h2>
        <span className={`badge breaker-${stats ? BREAKER_WORDS[stats.breaker] : "none"}`}>breaker {stats ? BREAKER_WORDS[stats.breaker] : "–"}</span>
        {stats && <span className={`badge ${stats.serving ? "ok" : "warn"}`}>{stats.serving ? "serving" : "degraded"}</span>}
        <GuardedButton refusal={refusal} className="push" onClick={onStage}>
          Stage a key
        </GuardedButton>
      </header>
      {stats && !stats.serving && <p className="warn-text">{stats.degradedReason}</p>}
      <p className="note">
        Since {formatTime(since)} on this instance: {formatCount(attempts)} attempts, {percent(failed, attempts)} failed; latency p50 {formatDuration(stats?.latencyP50)}, p95 {formatDuration(stats?.latencyP95)}.
      </p>
      <ScrollTable label={`${short} keys`} columns={["Key", "Fingerprint", "State", { label: "Traffic", num: true }, { label: "Errors (5 min)", num: true }, "Source", { label: "Actions", hidden: true }]}>
            {credentials.map((c) => {
              const id = c.name.replace(/^providers\/[^/]+\/credentials\//, "");
              const ok = Number(c.recentSuccesses);
              const errors = Number(c.recentErrors);
              return (
                <tr key={c.name} data-credential={id}>
                  <th scope="row" className="mono">
                    {id}
                  </th>
                  <td className="mono">{c.fingerprint}</td>
                  <td>
                    <span className={`badge cred-${STATE_WORDS[c.state].replace(" ", "-")}`}>{STATE_WORDS[c.state]}</span>
                    {c.canary && (
                      <span className="muted small">
                        {" "}
                        {percent(c.canary.trafficShare, 1)} share, {formatCount(c.canary.successes)}/{formatCount(c.canary.promoteAfter)} ok
                      </span>
                    )}
                    {c.stateReason && <span className="muted small block">{c.stateReason}</span>}
                  </td>
                  <td className="num">{percent(c.trafficShare, 1)}</td>
                  <td className="num">
                    {formatCount(errors)} <span className="muted">{percent(errors, ok + errors)}</span>
                  </td>
                  <td className="mono small">{c.secretRef}</td>
                  <td className="row-actions">
                    {c.state === CredentialState.STANDBY && (
                      <>
                        <GuardedButton refusal={refusal} onClick={() => onAction({ kind: "promote", credential: c })} aria-label={`Promote ${id}`}>
                          Promote
                        </GuardedButton>
                        <GuardedButton refusal={refusal} onClick={() => onAction({ kind: "rollback", credential: c })} aria-label={`Roll back ${id}`}>
                          Roll back
                        </GuardedButton>
                      </>
                    )}
                    {(c.state === CredentialState.ACTIVE || c.state === CredentialState.COOLING_DOWN || c.state === CredentialState.STANDBY) && (
                      <GuardedButton refusal={refusal} className="danger" onClick={() => onAction({ kind: "disable", credential: c })} aria-label={`Disable ${id}`}>
                        Disable
                      </GuardedButton>
                    )}
                  </td>
                </tr>
              );
            })}
      </ScrollTable>
      {retired > 0 && <p className="note">{retired} retired key(s) hidden (kept until restart, for audit).</p>}
    </section>
  );
}

/** StageKey: a new key as a canary on a share of the traffic, replacing one or added to the pool. */
function StageForm({ provider, onDone, onCancel }: { provider: Provider; onDone(): void; onCancel(): void }) {
  const id = useId();
  const active = provider.credentials.filter((c) => c.state === CredentialState.ACTIVE);
  const [credentialId, setCredentialId] = useState("");
  const [secretRef, setSecretRef] = useState("");
  const [replaces, setReplaces] = useState(active[0]?.name ?? "");
  const [share, setShare] = useState("10");
  const [promoteAfter, setPromoteAfter] = useState("");
  const stage = useMutation(AdminService.method.stageKey, { onSuccess: onDone });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    stage.mutate({
      parent: provider.name,
      credentialId: credentialId.trim(),
      secretRef: secretRef.trim(),
      replaces,
      trafficShare: Number(share) / 100 || 0,
      promoteAfter: Number(promoteAfter) || 0,
    });
  };
  return (
    <form onSubmit={submit}>
      <div className="dialog-body grid">
        <div className="field">
          <label htmlFor={`${id}-cid`}>Key id</label>
          <input id={`${id}-cid`} value={credentialId} onChange={(e) => setCredentialId(e.target.value)} placeholder="key-2026-06" required />
        </div>
        <div className="field wide">
          <label htmlFor={`${id}-ref`}>Secret reference</label>
          <input id={`${id}-ref`} value={secretRef} onChange={(e) => setSecretRef(e.target.value)} placeholder="env:OPENAI_API_KEY_NEXT" required aria-describedby={`${id}-ref-help`} />
          <small id={`${id}-ref-help`}>Where the gateway reads the key: env:NAME, file:NAME, vault:MOUNT/PATH#FIELD or db:NAME. Never the key itself.</small>
        </div>
        <div className="field">
          <label htmlFor={`${id}-replaces`}>Replaces</label>
          <select id={`${id}-replaces`} value={replaces} onChange={(e) => setReplaces(e.target.value)}>
            {active.map((c) => (
              <option key={c.name} value={c.name}>
                {c.name.replace(/^providers\/[^/]+\/credentials\//, "")} ({c.fingerprint})
              </option>
            ))}
            <option value="">Nothing (add to the pool)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-share`}>Canary share (%)</label>
          <input id={`${id}-share`} inputMode="decimal" value={share} onChange={(e) => setShare(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-after`}>Promote after (successes)</label>
          <input id={`${id}-after`} inputMode="numeric" value={promoteAfter} onChange={(e) => setPromoteAfter(e.target.value)} placeholder="default" />
        </div>
      </div>
      <ErrorNote error={stage.error} title="The gateway refused to stage the key" />
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={stage.isPending}>
          {stage.isPending ? "Staging…" : "Stage as canary"}
        </button>
      </div>
    </form>
  );
}
