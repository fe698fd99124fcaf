import { parseArgs } from "node:util";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate, timestampFromMs, FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { MoneySchema } from "../../gen/ts/google/type/money_pb.js";
import {
  BudgetExhaustedAction,
  BudgetPeriod,
  BudgetSchema,
  EconomyMappingSchema,
  GatewayKeySchema,
  GatewayKeyState,
  type GatewayKey,
} from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { printable } from "../common/control-characters.js";
import { MAX_BUDGET_NANOS } from "../usage/budgets.js";
import { moneyParts, NANOS_PER_UNIT } from "../usage/pricing.js";
import { ADMIN_CONNECTION_HELP, adminClient, asksForHelp, CliError, parseDuration, runCli, table, type CliIo } from "./admin-client.js";
import { formatMoney } from "./money.js";

export const KEYS_USAGE = `usage: switchboard keys <command> [options]

commands:
  create --name NAME [settings]   create a key; the key is printed once, here only
  list [--team T] [--state active|expired|revoked]
  get ID                          one key, with its budget status
  update ID [settings]            change only the settings given
  revoke ID                       stop the key on every instance within a second

settings:
  --name NAME                 a human name
  --team TEAM                 the team (reports group by it)
  --models GLOB,GLOB          models the key may call ("gpt-4o*,claude-*"); default: all
  --all-models                update only: lift the key's scope (every model)
  --admin / --no-admin        may call the AdminService (--admin: every method)
  --admin-read-only           may call the AdminService's Get, List and Watch methods only
  --rpm N                     requests per minute (0: unlimited, shown as -)
  --tpm N                     tokens per minute (0: unlimited)
  --budget AMOUNT             spending limit per period, in the accounting currency (--no-budget: none,
                              on create not even the configured default; on update it removes the budget)
  --period day|week|month     the budget's period (default: month)
  --soft RATIO                share of the budget from which economy models serve (default: 0.9)
  --when-exhausted refuse|economy-only
  --economy MODEL=ECONOMY     serve ECONOMY instead of MODEL past the soft threshold (repeatable)
  --expires 30d|DATE          when the key stops working (--no-expiry: never)
  --id ID                     create only: the id in keys/{id} (default: random)
  --json                      print JSON instead of a table

${ADMIN_CONNECTION_HELP}`;

const OPTIONS = {
  name: { type: "string" },
  team: { type: "string" },
  models: { type: "string" },
  "all-models": { type: "boolean" },
  admin: { type: "boolean" },
  "no-admin": { type: "boolean" },
  "admin-read-only": { type: "boolean" },
  rpm: { type: "string" },
  tpm: { type: "string" },
  budget: { type: "string" },
  "no-budget": { type: "boolean" },
  period: { type: "string" },
  soft: { type: "string" },
  "when-exhausted": { type: "string" },
  economy: { type: "string", multiple: true },
  expires: { type: "string" },
  "no-expiry": { type: "boolean" },
  id: { type: "string" },
  state: { type: "string" },
  json: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** `switchboard keys create|list|get|update|revoke`. Returns the exit code. */
export async function keysCommand(args: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [command, ...rest] = args;
  // `keys create --help` asks for help too, not for a key named by flags.
  if (!command || command === "help" || asksForHelp(args)) {
    io.stdout.write(`${KEYS_USAGE}\n`);
    return command ? 0 : 2;
  }
  return runCli(io, async () => {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n\n${KEYS_USAGE}`, 2);
    }
    const { values, positionals } = parsed;
    const id = (): string => {
      if (positionals.length !== 1) throw new CliError(`"keys ${command}" takes one key id\n\n${KEYS_USAGE}`, 2);
      return `keys/${positionals[0]!.replace(/^keys\//, "")}`;
    };
    const print = (keys: GatewayKey[], extra = ""): void => {
      if (values.json) io.stdout.write(`${JSON.stringify(keys.map(toJson), null, 2)}\n`);
      else io.stdout.write(describe(keys) + extra);
    };
    switch (command) {
      case "create": {
        if (positionals.length > 0) throw new CliError(`"keys create" takes no positional arguments (use --name)`, 2);
        if (!values.name) throw new CliError('"keys create" needs --name', 2);
        const { key } = settings(values);
        const client = adminClient(io);
        const res = await client.createKey({ key, keyId: values.id ?? "" });
        const made = values["no-budget"] ? await withoutDefaultBudget(client, res.key!) : { key: res.key! };
        if (values.json) {
          io.stdout.write(`${JSON.stringify({ ...toJson(made.key), secret: res.secret }, null, 2)}\n`);
        } else {
          print([made.key]);
          io.stdout.write(`\nkey: ${res.secret}\n`);
          io.stderr.write("This is the only time the key is shown: the gateway keeps only its digest.\n");
        }
        // Only once the key is shown: it exists, and its secret can be shown nowhere else.
        if (made.failure) throw made.failure;
        return;
      }
      case "list": {
        const filter: string[] = [];
        if (values.team !== undefined) filter.push(`team = ${JSON.stringify(values.team)}`);
        if (values.state !== undefined) filter.push(`state = ${values.state.toUpperCase()}`);
        const client = adminClient(io);
        const keys: GatewayKey[] = [];
        let pageToken = "";
        do {
          const page = await client.listKeys({ pageSize: 1000, pageToken, filter: filter.join(" AND ") });
          keys.push(...page.keys);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (keys.length === 0 && !values.json) io.stdout.write("no keys\n");
        else print(keys);
        return;
      }
      case "get": {
        const res = await adminClient(io).getKey({ name: id() });
        print([res.key!], budgetLine(res.key!));
        return;
      }
      case "update": {
        const name = id();
        const { key, paths } = settings(values);
        if (paths.length === 0) throw new CliError('"keys update" needs at least one setting to change', 2);
        key.name = name;
        const res = await adminClient(io).updateKey({ key, updateMask: create(FieldMaskSchema, { paths }) });
        print([res.key!]);
        return;
      }
      case "revoke": {
        const res = await adminClient(io).revokeKey({ name: id() });
        print([res.key!]);
        return;
      }
      default:
        throw new CliError(`unknown keys command "${command}"\n\n${KEYS_USAGE}`, 2);
    }
  });
}

/** The key and the update mask paths the flags set. */
function settings(values: Values): { key: GatewayKey; paths: string[] } {
  const key = create(GatewayKeySchema);
  const paths: string[] = [];
  if (values.name !== undefined) (key.displayName = values.name), paths.push("display_name");
  if (values.team !== undefined) (key.team = values.team), paths.push("team");
  if (values.models !== undefined && values["all-models"]) throw new CliError("--models cannot be combined with --all-models", 2);
  if (values.models !== undefined) {
    key.allowedModels = values.models.split(",").map((model) => model.trim()).filter(Boolean);
    // An empty list lifts the scope: from an unset shell variable ("--models $MODELS") that must not happen silently.
    if (key.allowedModels.length === 0) throw new CliError("--models names no model; to let the key call every model, say --all-models", 2);
    paths.push("allowed_models");
  }
  if (values["all-models"]) paths.push("allowed_models");
  adminRights(values, key, paths);
  if (values.rpm !== undefined) (key.requestsPerMinute = count("--rpm", values.rpm, INT32_MAX)), paths.push("requests_per_minute");
  if (values.tpm !== undefined) (key.tokensPerMinute = BigInt(count("--tpm", values.tpm))), paths.push("tokens_per_minute");
  const budgetFlags = values.budget !== undefined || values.period !== undefined || values.soft !== undefined || values["when-exhausted"] !== undefined;
  if (values["no-budget"]) {
    if (budgetFlags) throw new CliError("--no-budget cannot be combined with other budget settings", 2);
    paths.push("budget");
  } else if (budgetFlags) {
    const budget = create(BudgetSchema);
    if (values.budget !== undefined) {
      const amount = Number(values.budget);
      if (!(amount > 0)) throw new CliError(`--budget: "${values.budget}" is not a positive amount`, 2);
      if (amount * NANOS_PER_UNIT > MAX_BUDGET_NANOS) throw new CliError(`--budget: "${values.budget}" is more than the largest budget, ${MAX_BUDGET_NANOS / NANOS_PER_UNIT} per period`, 2);
      budget.limit = create(MoneySchema, moneyParts(Math.round(amount * NANOS_PER_UNIT)));
      paths.push("budget.limit");
    }
    if (values.period !== undefined) {
      const period = { day: BudgetPeriod.DAY, week: BudgetPeriod.WEEK, month: BudgetPeriod.MONTH }[values.period];
      if (period === undefined) throw new CliError("--period must be day, week or month", 2);
      budget.period = period;
      paths.push("budget.period");
    }
    if (values.soft !== undefined) {
      const soft = Number(values.soft.replace(/%$/, "")) / (values.soft.endsWith("%") ? 100 : 1);
      if (!(soft > 0 && soft <= 1)) throw new CliError("--soft must be more than 0 and at most 1 (or a percentage such as 90%)", 2);
      budget.softThreshold = soft;
      paths.push("budget.soft_threshold");
    }
    if (values["when-exhausted"] !== undefined) {
      const action = { refuse: BudgetExhaustedAction.REFUSE, "economy-only": BudgetExhaustedAction.ECONOMY_ONLY }[values["when-exhausted"]];
      if (action === undefined) throw new CliError("--when-exhausted must be refuse or economy-only", 2);
      budget.whenExhausted = action;
      paths.push("budget.when_exhausted");
    }
    key.budget = budget;
  }
  if (values.economy !== undefined) {
    key.economyModels = values.economy.map((pair) => {
      const parts = pair.split("=");
      // "a=b=c" is refused, not read as a=b: its "=c" would be dropped unseen.
      const [model, economyModel] = parts;
      if (parts.length !== 2 || !model || !economyModel) throw new CliError(`--economy: "${pair}" is not MODEL=ECONOMY_MODEL (one "=", a model on each side)`, 2);
      return create(EconomyMappingSchema, { model, economyModel });
    });
    paths.push("economy_models");
  }
  if (values["no-expiry"]) paths.push("expire_time");
  else if (values.expires !== undefined) {
    const ttl = parseDuration(values.expires);
    // Past what a google.protobuf.Duration holds, the request could not even be encoded.
    if (ttl !== undefined && !(ttl <= MAX_DURATION_MS)) throw new CliError(`--expires: "${values.expires}" is longer than any expiry the gateway takes (at most 100 years)`, 2);
    if (ttl !== undefined) key.expiration = { case: "ttl", value: durationFromMs(ttl) };
    else {
      const at = Date.parse(values.expires);
      if (Number.isNaN(at)) throw new CliError(`--expires: "${values.expires}" is neither a duration such as 30d nor a date`, 2);
      key.expiration = { case: "expireTime", value: timestampFromMs(at) };
    }
    paths.push("expire_time");
  }
  return { key, paths };
}

/**
 * CreateKey gives a key asked for without a budget the configured default
 * (keys.defaults.budget): its request has no way to say "none". So
 * --no-budget on create then removes the budget the new key was given, before
 * anyone holds its secret, so no call can have spent under it. Should that
 * fail, the key stands with the default budget: the failure says so, and how
 * to remove it.
 */
async function withoutDefaultBudget(client: ReturnType<typeof adminClient>, created: GatewayKey): Promise<{ key: GatewayKey; failure?: CliError }> {
  if (!created.budget) return { key: created };
  try {
    const res = await client.updateKey({ key: create(GatewayKeySchema, { name: created.name }), updateMask: create(FieldMaskSchema, { paths: ["budget"] }) });
    return { key: res.key! };
  } catch (err) {
    const error = ConnectError.from(err);
    const id = created.name.replace(/^keys\//, "");
    const reason = `${Code[error.code]}: ${printable(error.rawMessage)}`;
    return { key: created, failure: new CliError(`the key was created with the configured default budget, which could not be removed (${reason}): remove it with "switchboard keys update ${id} --no-budget", or revoke the key`) };
  }
}

/**
 * --admin, --admin-read-only or --no-admin: both rights are set, so that
 * --admin makes a read-only admin key a full one again.
 */
function adminRights(values: Values, key: GatewayKey, paths: string[]): void {
  const given = [values.admin && "--admin", values["admin-read-only"] && "--admin-read-only", values["no-admin"] && "--no-admin"].filter(Boolean);
  if (given.length > 1) throw new CliError(`${given.join(" and ")} cannot be combined: choose one`, 2);
  if (given.length === 0) return;
  key.admin = !values["no-admin"];
  paths.push("admin");
  if (values["no-admin"]) return;
  key.adminReadOnly = Boolean(values["admin-read-only"]);
  paths.push("admin_read_only");
}

/** requests_per_minute is an int32: a larger number could not even be sent. */
const INT32_MAX = 2 ** 31 - 1;
/** google.protobuf.Duration's largest, 10,000 years, in ms. */
const MAX_DURATION_MS = 315_576_000_000 * 1000;

function count(flag: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new CliError(`${flag}: "${text}" is not a whole number`, 2);
  if (n > max) throw new CliError(`${flag}: ${text} is more than the largest the gateway takes, ${max} (or 0 for unlimited)`, 2);
  return n;
}

const STATE_NAMES: Record<GatewayKeyState, string> = {
  [GatewayKeyState.UNSPECIFIED]: "?",
  [GatewayKeyState.ACTIVE]: "active",
  [GatewayKeyState.EXPIRED]: "expired",
  [GatewayKeyState.REVOKED]: "revoked",
};

function amount(money: { units: bigint; nanos: number; currencyCode: string } | undefined): string {
  if (!money) return "";
  return `${formatMoney(money)} ${money.currencyCode}`;
}

function describe(keys: GatewayKey[]): string {
  return table(
    ["ID", "NAME", "TEAM", "STATE", "HINT", "MODELS", "ADMIN", "RPM", "TPM", "BUDGET", "EXPIRES"],
    keys.map((key) => [
      key.name.replace(/^keys\//, ""),
      key.displayName,
      key.team,
      STATE_NAMES[key.state],
      key.keyHint,
      key.allowedModels.join(",") || "*",
      key.admin ? (key.adminReadOnly ? "read-only" : "yes") : "no",
      key.requestsPerMinute ? String(key.requestsPerMinute) : "-",
      key.tokensPerMinute ? String(key.tokensPerMinute) : "-",
      key.budget ? `${amount(key.budget.limit)}/${["?", "day", "week", "month"][key.budget.period]}` : "",
      key.expiration.case === "expireTime" ? timestampDate(key.expiration.value).toISOString() : "never",
    ]),
  );
}

function budgetLine(key: GatewayKey): string {
  const status = key.budgetStatus;
  if (!status) return "";
  const state = status.exhausted ? " (exhausted)" : status.economy ? " (economy models serving)" : "";
  const ends = status.periodEndTime ? timestampDate(status.periodEndTime).toISOString() : "";
  return `\nspent ${amount(status.spent)} of ${amount(status.limit)} this period${state}; the period ends ${ends}\n`;
}

function toJson(key: GatewayKey): Record<string, unknown> {
  return {
    id: key.name.replace(/^keys\//, ""),
    name: key.name,
    displayName: key.displayName,
    team: key.team,
    state: STATE_NAMES[key.state],
    keyHint: key.keyHint,
    allowedModels: key.allowedModels,
    admin: key.admin,
    adminReadOnly: key.adminReadOnly,
    requestsPerMinute: key.requestsPerMinute ?? 0,
    tokensPerMinute: Number(key.tokensPerMinute ?? 0n),
    budget: key.budget
      ? {
          limit: amount(key.budget.limit),
          period: ["unspecified", "day", "week", "month"][key.budget.period],
          softThreshold: key.budget.softThreshold,
          whenExhausted: ["unspecified", "refuse", "economy-only"][key.budget.whenExhausted],
        }
      : null,
    economyModels: key.economyModels.map((mapping) => ({ model: mapping.model, economyModel: mapping.economyModel })),
    expireTime: key.expiration.case === "expireTime" ? timestampDate(key.expiration.value).toISOString() : null,
    createTime: key.createTime ? timestampDate(key.createTime).toISOString() : null,
    revokeTime: key.revokeTime ? timestampDate(key.revokeTime).toISOString() : null,
    budgetStatus: key.budgetStatus
      ? { spent: amount(key.budgetStatus.spent), economy: key.budgetStatus.economy, exhausted: key.budgetStatus.exhausted }
      : undefined,
  };
}
