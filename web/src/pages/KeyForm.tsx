import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { useId, useState, type FormEvent } from "react";
import { BudgetExhaustedAction, BudgetPeriod, type GatewayKey, type GatewayKeySchema } from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { ErrorNote } from "../components/ErrorNote";
import { timestampDate } from "../format";
import { amountText, parseAmount } from "../money-input";
import { Field } from "../components/Field";

/** The form's fields, as text the inputs hold. */
interface KeyFields {
  displayName: string;
  keyId: string;
  team: string;
  allowedModels: string;
  admin: boolean;
  adminReadOnly: boolean;
  requestsPerMinute: string;
  tokensPerMinute: string;
  budgetLimit: string;
  budgetPeriod: BudgetPeriod;
  softThreshold: string;
  whenExhausted: BudgetExhaustedAction;
  economy: { model: string; economyModel: string }[];
  expiry: "never" | "at" | "ttl";
  expireAt: string;
  ttlDays: string;
}

const EMPTY: KeyFields = {
  displayName: "",
  keyId: "",
  team: "",
  allowedModels: "",
  admin: false,
  adminReadOnly: false,
  requestsPerMinute: "",
  tokensPerMinute: "",
  budgetLimit: "",
  budgetPeriod: BudgetPeriod.MONTH,
  softThreshold: "90",
  whenExhausted: BudgetExhaustedAction.REFUSE,
  economy: [],
  expiry: "never",
  expireAt: "",
  ttlDays: "30",
};

function fieldsOf(key: GatewayKey): KeyFields {
  const expireAt = key.expiration.case === "expireTime" ? timestampDate(key.expiration.value) : undefined;
  return {
    displayName: key.displayName,
    keyId: key.name.replace(/^keys\//, ""),
    team: key.team,
    allowedModels: key.allowedModels.join(", "),
    admin: key.admin,
    adminReadOnly: key.adminReadOnly,
    requestsPerMinute: key.requestsPerMinute === undefined ? "" : String(key.requestsPerMinute),
    tokensPerMinute: key.tokensPerMinute === undefined ? "" : String(key.tokensPerMinute),
    budgetLimit: amountText(key.budget?.limit),
    budgetPeriod: key.budget?.period || BudgetPeriod.MONTH,
    softThreshold: key.budget?.softThreshold === undefined ? "90" : String(Math.round(key.budget.softThreshold * 1000) / 10),
    whenExhausted: key.budget?.whenExhausted || BudgetExhaustedAction.REFUSE,
    economy: key.economyModels.map((m) => ({ model: m.model, economyModel: m.economyModel })),
    expiry: expireAt ? "at" : "never",
    expireAt: expireAt ? toLocalInput(expireAt) : "",
    ttlDays: "30",
  };
}

function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

type KeyInit = MessageInitShape<typeof GatewayKeySchema>;

/** The form as a GatewayKey, and what it found wrong before asking the gateway. */
function toKey(f: KeyFields): { key: KeyInit; problems: string[] } {
  const problems: string[] = [];
  const whole = (text: string, name: string) => {
    if (text.trim() === "") return undefined;
    if (!/^\d+$/.test(text.trim())) problems.push(`${name} must be a whole number (0: unlimited)`);
    return Number(text.trim());
  };
  const limit = f.budgetLimit.trim() ? parseAmount(f.budgetLimit) : undefined;
  if (f.budgetLimit.trim() && !limit) problems.push("Budget must be an amount such as 25 or 7.50");
  const threshold = Number(f.softThreshold);
  if (limit && !(threshold > 0 && threshold <= 100)) problems.push("Soft threshold must be a percentage above 0, at most 100");
  const rpm = whole(f.requestsPerMinute, "Requests per minute");
  const tpm = whole(f.tokensPerMinute, "Tokens per minute");
  let expiration: KeyInit["expiration"] = { case: undefined };
  if (f.expiry === "at") {
    const at = new Date(f.expireAt).getTime();
    if (!Number.isFinite(at)) problems.push("Choose when the key expires");
    else expiration = { case: "expireTime", value: timestampFromMs(at) };
  }
  if (f.expiry === "ttl") {
    const days = Number(f.ttlDays);
    if (!(days > 0)) problems.push("Days must be more than 0");
    else expiration = { case: "ttl", value: durationFromMs(Math.round(days * 86_400_000)) };
  }
  const key: KeyInit = {
    displayName: f.displayName.trim(),
    team: f.team.trim(),
    allowedModels: f.allowedModels
      .split(/[\s,]+/)
      .map((m) => m.trim())
      .filter(Boolean),
    admin: f.admin,
    adminReadOnly: f.admin && f.adminReadOnly,
    requestsPerMinute: rpm,
    tokensPerMinute: tpm === undefined ? undefined : BigInt(tpm),
    budget: limit ? { limit, period: f.budgetPeriod, softThreshold: threshold / 100, whenExhausted: f.whenExhausted } : undefined,
    economyModels: f.economy.filter((m) => m.model.trim() || m.economyModel.trim()),
    expiration,
  };
  return { key, problems };
}

/** UpdateKey's field mask: the settings the form changed (AIP-134). */
function changedPaths(before: KeyFields, after: KeyFields): string[] {
  const paths: string[] = [];
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (before.displayName !== after.displayName) paths.push("display_name");
  if (before.team !== after.team) paths.push("team");
  if (differs(toKey(before).key.allowedModels, toKey(after).key.allowedModels)) paths.push("allowed_models");
  if (before.admin !== after.admin) paths.push("admin");
  if ((before.admin && before.adminReadOnly) !== (after.admin && after.adminReadOnly)) paths.push("admin_read_only");
  if (before.requestsPerMinute !== after.requestsPerMinute) paths.push("requests_per_minute");
  if (before.tokensPerMinute !== after.tokensPerMinute) paths.push("tokens_per_minute");
  if (
    before.budgetLimit !== after.budgetLimit ||
    (after.budgetLimit && (before.budgetPeriod !== after.budgetPeriod || before.softThreshold !== after.softThreshold || before.whenExhausted !== after.whenExhausted))
  )
    paths.push("budget");
  if (differs(before.economy, after.economy)) paths.push("economy_models");
  if (before.expiry !== after.expiry || (after.expiry === "at" && before.expireAt !== after.expireAt) || after.expiry === "ttl") paths.push("expire_time");
  return paths;
}

export interface KeySubmission {
  key: KeyInit;
  keyId: string;
  /** For an edit: the paths that changed. */
  paths: string[];
}

/** Create or edit a gateway key: scopes, limits, budget with soft threshold and economy models, expiry, team. */
export function KeyForm({ existing, onSubmit, busy, error, onCancel }: { existing?: GatewayKey; onSubmit(submission: KeySubmission): void; busy: boolean; error: unknown; onCancel(): void }) {
  const initial = existing ? fieldsOf(existing) : EMPTY;
  const [f, setF] = useState<KeyFields>(initial);
  const [problems, setProblems] = useState<string[]>([]);
  const id = useId();
  const set = <K extends keyof KeyFields>(name: K, value: KeyFields[K]) => setF((prev) => ({ ...prev, [name]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { key, problems: found } = toKey(f);
    const paths = existing ? changedPaths(initial, f) : [];
    if (existing && paths.length === 0) found.push("Nothing changed");
    setProblems(found);
    if (found.length === 0) onSubmit({ key, keyId: f.keyId.trim(), paths });
  };
  const field = (name: string) => `${id}-${name}`;
  return (
    <form onSubmit={submit} className="key-form" noValidate>
      <div className="grid">
        <Field id={field("name")} label="Name">
          <input id={field("name")} value={f.displayName} onChange={(e) => set("displayName", e.target.value)} required placeholder="checkout-service prod" />
        </Field>
        <Field id={field("id")} label="Key id" help="3-63 lower-case letters, digits and hyphens.">
          <input id={field("id")} value={f.keyId} onChange={(e) => set("keyId", e.target.value)} disabled={!!existing} placeholder="random when empty" aria-describedby={field("id-help")} />
        </Field>
        <Field id={field("team")} label="Team">
          <input id={field("team")} value={f.team} onChange={(e) => set("team", e.target.value)} />
        </Field>
        <Field id={field("models")} label="Allowed models" wide help="Globs, separated by commas.">
          <input id={field("models")} value={f.allowedModels} onChange={(e) => set("allowedModels", e.target.value)} placeholder="every model when empty; e.g. gpt-4o*, claude-*" aria-describedby={field("models-help")} />
        </Field>
        <Field id={field("rpm")} label="Requests per minute">
          <input id={field("rpm")} inputMode="numeric" value={f.requestsPerMinute} onChange={(e) => set("requestsPerMinute", e.target.value)} placeholder="default" />
        </Field>
        <Field id={field("tpm")} label="Tokens per minute">
          <input id={field("tpm")} inputMode="numeric" value={f.tokensPerMinute} onChange={(e) => set("tokensPerMinute", e.target.value)} placeholder="default" />
        </Field>
        <fieldset className="wide">
          <legend>Admin scope</legend>
          <label className="check">
            <input type="checkbox" checked={f.admin} onChange={(e) => set("admin", e.target.checked)} /> May call the AdminService
          </label>
          <label className="check">
            <input type="checkbox" checked={f.adminReadOnly} disabled={!f.admin} onChange={(e) => set("adminReadOnly", e.target.checked)} /> Read only (a viewer: may look, not change)
          </label>
        </fieldset>
        <fieldset className="wide">
          <legend>Budget</legend>
          <div className="grid">
            <Field id={field("budget")} label="Limit (USD)">
              <input id={field("budget")} inputMode="decimal" value={f.budgetLimit} onChange={(e) => set("budgetLimit", e.target.value)} placeholder="none" />
            </Field>
            <Field id={field("period")} label="Period">
              <select id={field("period")} value={f.budgetPeriod} onChange={(e) => set("budgetPeriod", Number(e.target.value) as BudgetPeriod)}>
                <option value={BudgetPeriod.DAY}>Day</option>
                <option value={BudgetPeriod.WEEK}>Week</option>
                <option value={BudgetPeriod.MONTH}>Month</option>
              </select>
            </Field>
            <Field id={field("soft")} label="Soft threshold (%)">
              <input id={field("soft")} inputMode="decimal" value={f.softThreshold} onChange={(e) => set("softThreshold", e.target.value)} />
            </Field>
            <Field id={field("exhausted")} label="When spent">
              <select id={field("exhausted")} value={f.whenExhausted} onChange={(e) => set("whenExhausted", Number(e.target.value) as BudgetExhaustedAction)}>
                <option value={BudgetExhaustedAction.REFUSE}>Refuse calls</option>
                <option value={BudgetExhaustedAction.ECONOMY_ONLY}>Economy models only</option>
              </select>
            </Field>
          </div>
        </fieldset>
        <fieldset className="wide">
          <legend>Economy models (served from the soft threshold on)</legend>
          {f.economy.map((mapping, i) => (
            <div className="economy-row" key={i}>
              <label htmlFor={field(`eco-${i}`)} className="sr-only">
                Requested model {i + 1}
              </label>
              <input id={field(`eco-${i}`)} value={mapping.model} placeholder="gpt-4o" onChange={(e) => set("economy", f.economy.map((m, k) => (k === i ? { ...m, model: e.target.value } : m)))} />
              <span aria-hidden="true">→</span>
              <label htmlFor={field(`eco-to-${i}`)} className="sr-only">
                Economy model {i + 1}
              </label>
              <input id={field(`eco-to-${i}`)} value={mapping.economyModel} placeholder="gpt-4o-mini" onChange={(e) => set("economy", f.economy.map((m, k) => (k === i ? { ...m, economyModel: e.target.value } : m)))} />
              <button type="button" onClick={() => set("economy", f.economy.filter((_, k) => k !== i))} aria-label={`Remove economy mapping ${i + 1}`}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => set("economy", [...f.economy, { model: "", economyModel: "" }])}>
            Add a mapping
          </button>
        </fieldset>
        <fieldset className="wide">
          <legend>Expiry</legend>
          <div className="inline">
            <label className="check">
              <input type="radio" name={field("expiry")} checked={f.expiry === "never"} onChange={() => set("expiry", "never")} /> Never
            </label>
            <label className="check">
              <input type="radio" name={field("expiry")} checked={f.expiry === "ttl"} onChange={() => set("expiry", "ttl")} /> In
            </label>
            <label htmlFor={field("ttl")} className="sr-only">
              Days until the key expires
            </label>
            <input id={field("ttl")} className="short" inputMode="numeric" value={f.ttlDays} disabled={f.expiry !== "ttl"} onChange={(e) => set("ttlDays", e.target.value)} /> days
            <label className="check">
              <input type="radio" name={field("expiry")} checked={f.expiry === "at"} onChange={() => set("expiry", "at")} /> At
            </label>
            <label htmlFor={field("at")} className="sr-only">
              When the key expires
            </label>
            <input id={field("at")} type="datetime-local" value={f.expireAt} disabled={f.expiry !== "at"} onChange={(e) => set("expireAt", e.target.value)} />
          </div>
        </fieldset>
      </div>
      {problems.length > 0 && (
        <div className="error" role="alert">
          <strong>Please check the form</strong>
          <ul>
            {problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      <ErrorNote error={error} title="The gateway refused the key" />
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : existing ? "Save changes" : "Create key"}
        </button>
      </div>
    </form>
  );
}
