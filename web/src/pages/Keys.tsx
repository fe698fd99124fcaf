import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { Fragment, useEffect, useState } from "react";
import { BudgetPeriod, GatewayKeyState, type GatewayKey } from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../../gen/ts/switchboard/v1/admin_service_pb.js";
import { Confirm, Dialog } from "../components/Dialog";
import { ErrorNote } from "../components/ErrorNote";
import { GuardedButton } from "../components/GuardedButton";
import { filterValue } from "../filter-text";
import { useRights } from "../rights";
import { Meter } from "../components/Meter";
import { formatCount, formatDateTime, formatMoney, moneyValue } from "../format";
import { KeyForm, type KeySubmission } from "./KeyForm";
import { Field } from "../components/Field";
import { ScrollTable } from "../components/ScrollTable";
import { VisibleName } from "../components/VisibleName";
import { visibleText } from "../visible-text";

const PAGE_SIZE = 20;
/** The search is sent once typing pauses this long, not on every key press. */
const SEARCH_PAUSE_MS = 300;
const STATE_WORDS: Record<GatewayKeyState, string> = {
  [GatewayKeyState.UNSPECIFIED]: "–",
  [GatewayKeyState.ACTIVE]: "active",
  [GatewayKeyState.EXPIRED]: "expired",
  [GatewayKeyState.REVOKED]: "revoked",
};
const PERIOD_WORDS: Record<BudgetPeriod, string> = {
  [BudgetPeriod.UNSPECIFIED]: "period",
  [BudgetPeriod.DAY]: "day",
  [BudgetPeriod.WEEK]: "week",
  [BudgetPeriod.MONTH]: "month",
};

/** Gateway keys: a page at a time, searched by the gateway, created (the secret shown once), edited with a field mask, revoked. */
export function KeysPage() {
  const queryClient = useQueryClient();
  const rights = useRights();
  const [state, setState] = useState("ACTIVE");
  const [team, setTeam] = useState("");
  const [search, setSearch] = useState("");
  const [searched, setSearched] = useState("");
  const [tokens, setTokens] = useState<string[]>([""]);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<GatewayKey>();
  const [revoking, setRevoking] = useState<GatewayKey>();
  const [secret, setSecret] = useState<{ name: string; secret: string }>();

  // The gateway searches every key (display name, id and team), a page of matches at a time.
  useEffect(() => {
    const pause = setTimeout(() => {
      setSearched(search.trim());
      setTokens([""]);
    }, SEARCH_PAUSE_MS);
    return () => clearTimeout(pause);
  }, [search]);
  const filter = [state ? `state = ${state}` : "", team.trim() ? `team = ${filterValue(team.trim())}` : "", searched ? filterValue(searched) : ""].filter(Boolean).join(" AND ");
  const pageToken = tokens[tokens.length - 1]!;
  const list = useQuery(AdminService.method.listKeys, { pageSize: PAGE_SIZE, pageToken, filter });
  const refresh = () => queryClient.invalidateQueries();
  const create = useMutation(AdminService.method.createKey, {
    onSuccess: (res) => {
      setCreating(false);
      setSecret({ name: res.key?.displayName ?? "", secret: res.secret });
      void refresh();
    },
  });
  const update = useMutation(AdminService.method.updateKey, {
    onSuccess: () => {
      setEditing(undefined);
      void refresh();
    },
  });
  const revoke = useMutation(AdminService.method.revokeKey, {
    onSuccess: () => {
      setRevoking(undefined);
      void refresh();
    },
  });

  const keys = list.data?.keys ?? [];
  /** A server-side filter changed: back to the first page. */
  const filterBy = (set: (value: string) => void) => (event: { target: { value: string } }) => {
    set(event.target.value);
    setTokens([""]);
  };

  return (
    <>
      <div className="toolbar">
        <Field id="key-search" label="Search">
          <input id="key-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="name, id or team" maxLength={128} />
        </Field>
        <Field id="key-state" label="State">
          <select id="key-state" value={state} onChange={filterBy(setState)}>
            <option value="ACTIVE">Active</option>
            <option value="REVOKED">Revoked</option>
            <option value="EXPIRED">Expired</option>
            <option value="">All</option>
          </select>
        </Field>
        <Field id="key-team" label="Team">
          <input
            id="key-team"
            value={team}
            onChange={filterBy(setTeam)}
            placeholder="any"
          />
        </Field>
        <GuardedButton refusal={rights.keys} className="primary push" onClick={() => (create.reset(), setCreating(true))}>
          Create key
        </GuardedButton>
      </div>

      <ErrorNote error={list.error} title="Could not list keys" />
      <ErrorNote error={revoke.error} title="Could not revoke the key" />
      <ScrollTable label="Gateway keys" className="keys" columns={["Key", "Team", "Scope", "Limits", "Spend against budget", "Expires", "State", { label: "Actions", hidden: true }]}>
            {keys.map((key) => (
              <tr key={key.name} data-key={key.name}>
                <th scope="row">
                  <span className="key-name">
                    <VisibleName name={key.displayName} />
                  </span>
                  <span className="muted mono">{key.name.replace(/^keys\//, "")}</span>
                  <span className="muted mono">{key.keyHint}</span>
                </th>
                <td>{key.team ? <VisibleName name={key.team} /> : <span className="muted">–</span>}</td>
                <td>
                  {key.allowedModels.length ? (
                    key.allowedModels.map((model, i) => (
                      <Fragment key={i}>
                        {i > 0 && ", "}
                        <VisibleName name={model} />
                      </Fragment>
                    ))
                  ) : (
                    <span className="muted">every model</span>
                  )}
                  {key.admin && <span className="badge">{key.adminReadOnly ? "admin (read only)" : "admin"}</span>}
                </td>
                <td className="nowrap">
                  {key.requestsPerMinute ? `${formatCount(key.requestsPerMinute)} req/min` : "no req limit"}
                  <br />
                  {key.tokensPerMinute ? `${formatCount(key.tokensPerMinute)} tok/min` : "no token limit"}
                </td>
                <td>{key.budget ? <BudgetBar keyName={key.name} period={PERIOD_WORDS[key.budget.period]} /> : <span className="muted">no budget</span>}</td>
                <td className="nowrap">{key.expiration.case === "expireTime" ? formatDateTime(key.expiration.value) : <span className="muted">never</span>}</td>
                <td>
                  <span className={`badge state-${STATE_WORDS[key.state]}`}>{STATE_WORDS[key.state]}</span>
                </td>
                <td className="row-actions">
                  {key.state === GatewayKeyState.ACTIVE && (
                    <>
                      <GuardedButton refusal={rights.keys} onClick={() => (update.reset(), setEditing(key))} aria-label={`Edit ${visibleText(key.displayName)}`}>
                        Edit
                      </GuardedButton>
                      <GuardedButton refusal={rights.keys} className="danger" onClick={() => (revoke.reset(), setRevoking(key))} aria-label={`Revoke ${visibleText(key.displayName)}`}>
                        Revoke
                      </GuardedButton>
                    </>
                  )}
                </td>
              </tr>
            ))}
            {!list.isPending && keys.length === 0 && (
              <tr>
                <td colSpan={8}>{searched ? `No key's name, id or team holds “${searched}”${team.trim() || state ? " among those filtered" : ""}.` : "No key matches."}</td>
              </tr>
            )}
      </ScrollTable>
      <nav className="pager" aria-label="Pages of keys">
        <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous page
        </button>
        <span>Page {tokens.length}</span>
        <button type="button" disabled={!list.data?.nextPageToken} onClick={() => setTokens([...tokens, list.data!.nextPageToken])}>
          Next page
        </button>
      </nav>

      <Dialog open={creating} title="Create a gateway key" onClose={() => setCreating(false)} wide>
        <KeyForm
          busy={create.isPending}
          error={create.error}
          onCancel={() => setCreating(false)}
          onSubmit={({ key, keyId }: KeySubmission) => create.mutate({ key, keyId })}
        />
      </Dialog>
      <Dialog open={!!editing} title={`Edit ${visibleText(editing?.displayName ?? "")}`} onClose={() => setEditing(undefined)} wide>
        {editing && (
          <KeyForm
            existing={editing}
            busy={update.isPending}
            error={update.error}
            onCancel={() => setEditing(undefined)}
            onSubmit={({ key, paths }) => update.mutate({ key: { ...key, name: editing.name }, updateMask: { paths } })}
          />
        )}
      </Dialog>
      <Confirm
        open={!!revoking}
        title="Revoke this key?"
        action="Revoke key"
        danger
        busy={revoke.isPending}
        onClose={() => setRevoking(undefined)}
        onConfirm={() => revoking && revoke.mutate({ name: revoking.name })}
      >
        <p>
          <strong>
            <VisibleName name={revoking?.displayName ?? ""} />
          </strong> ({revoking?.name}) stops working on every instance within a second. A revoked key cannot be restored.
        </p>
        <ErrorNote error={revoke.error} title="Could not revoke the key" />
      </Confirm>
      <SecretDialog shown={secret} onClose={() => setSecret(undefined)} />
    </>
  );
}

/** A key's spend in its budget's current period, as a bar (GetKey has the spend; ListKeys does not). */
function BudgetBar({ keyName, period }: { keyName: string; period: string }) {
  const key = useQuery(AdminService.method.getKey, { name: keyName }, { refetchInterval: 10_000 });
  const status = key.data?.key?.budgetStatus;
  if (!status) return <span className="muted">{key.isPending ? "…" : "–"}</span>;
  const spent = moneyValue(status.spent);
  const limit = moneyValue(status.limit);
  const threshold = key.data?.key?.budget?.softThreshold;
  return <Meter value={spent} max={limit} warnAt={threshold} label={`Spend of ${keyName} against its budget`} text={`${formatMoney(status.spent)} of ${formatMoney(status.limit)} this ${period}`} />;
}

/** A new key's secret, shown once: the gateway keeps only its digest. */
function SecretDialog({ shown, onClose }: { shown?: { name: string; secret: string }; onClose(): void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(shown!.secret);
      setCopied(true);
    } catch {
      // No clipboard (an insecure origin, or permission refused): select the text for the user to copy.
      const code = document.getElementById("new-key-secret");
      if (code) window.getSelection()?.selectAllChildren(code);
    }
  };
  return (
    <Dialog open={!!shown} title={`Key created: ${shown?.name ?? ""}`} onClose={() => (setCopied(false), onClose())}>
      <div className="dialog-body">
        <p>This is the only time the key is shown: the gateway keeps only its digest. Copy it now.</p>
        <div className="secret">
          <code id="new-key-secret" data-testid="new-key-secret">
            {shown?.secret}
          </code>
          <button type="button" onClick={copy}>
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
        <p role="status" className="muted">
          {copied ? "Copied to the clipboard." : ""}
        </p>
      </div>
      <div className="actions">
        <button type="button" className="primary" onClick={() => (setCopied(false), onClose())}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
