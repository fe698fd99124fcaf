import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { MoneySchema, type Money } from "../../../gen/ts/google/type/money_pb.js";
import {
  BudgetExhaustedAction,
  BudgetPeriod,
  BudgetSchema,
  BudgetStatusSchema,
  EconomyMappingSchema,
  GatewayKeySchema,
  GatewayKeyState,
  type BudgetStatus,
  type GatewayKey,
} from "../../../gen/ts/switchboard/v1/admin_keys_pb.js";
import type { KeyBudget, KeyRecord } from "../../auth/key-policy.js";
import { keyState, type GatewayKeyStateName } from "../../auth/key-store.js";
import type { BudgetPeriodName, ExhaustedActionName } from "../../config/usage-config.js";
import type { Period } from "../../usage/budgets.js";
import { moneyParts } from "../../usage/pricing.js";
import { KEY_NAME } from "./resource-names.js";

const PERIODS: Record<BudgetPeriodName, BudgetPeriod> = { day: BudgetPeriod.DAY, week: BudgetPeriod.WEEK, month: BudgetPeriod.MONTH };
const ACTIONS: Record<ExhaustedActionName, BudgetExhaustedAction> = {
  refuse: BudgetExhaustedAction.REFUSE,
  economy_only: BudgetExhaustedAction.ECONOMY_ONLY,
};
const STATES: Record<GatewayKeyStateName, GatewayKeyState> = {
  active: GatewayKeyState.ACTIVE,
  expired: GatewayKeyState.EXPIRED,
  revoked: GatewayKeyState.REVOKED,
};

/** A stored key as the API shows it (its budget's status is added by who reads the spend). */
export function toGatewayKey(record: KeyRecord, currency: string): GatewayKey {
  const key = create(GatewayKeySchema, {
    name: KEY_NAME.format({ key: record.id }),
    displayName: record.displayName,
    team: record.team,
    allowedModels: record.allowedModels,
    admin: record.admin,
    adminReadOnly: record.adminReadOnly ?? false,
    requestsPerMinute: record.requestsPerMinute,
    tokensPerMinute: BigInt(record.tokensPerMinute),
    economyModels: record.economyModels.map((mapping) => create(EconomyMappingSchema, mapping)),
    createTime: timestampFromMs(record.createMs),
    updateTime: timestampFromMs(record.updateMs),
    revokeTime: record.revokeMs === undefined ? undefined : timestampFromMs(record.revokeMs),
    state: STATES[keyState(record)],
    keyHint: record.keyHint,
  });
  if (record.expireMs !== undefined) key.expiration = { case: "expireTime", value: timestampFromMs(record.expireMs) };
  if (record.budget) {
    key.budget = create(BudgetSchema, {
      limit: toMoney(record.budget.limitNanos, currency),
      period: PERIODS[record.budget.period],
      softThreshold: record.budget.softThreshold,
      whenExhausted: ACTIONS[record.budget.whenExhausted],
    });
  }
  return key;
}

/** Where a key stands in its budget's current period, having spent `spentNanos`. */
export function toBudgetStatus(budget: KeyBudget, period: Period, spentNanos: number, currency: string): BudgetStatus {
  return create(BudgetStatusSchema, {
    spent: toMoney(spentNanos, currency),
    limit: toMoney(budget.limitNanos, currency),
    periodStartTime: timestampFromMs(period.startMs),
    periodEndTime: timestampFromMs(period.endMs),
    economy: spentNanos >= Math.floor(budget.limitNanos * budget.softThreshold),
    exhausted: spentNanos >= budget.limitNanos,
  });
}

/** The configuration's name of a budget period; undefined for UNSPECIFIED (or a number the contract does not know). */
export function periodName(period: BudgetPeriod): BudgetPeriodName | undefined {
  return (Object.keys(PERIODS) as BudgetPeriodName[]).find((name) => PERIODS[name] === period);
}

/** The configuration's name of what an exhausted budget does; undefined for UNSPECIFIED. */
export function actionName(action: BudgetExhaustedAction): ExhaustedActionName | undefined {
  return (Object.keys(ACTIONS) as ExhaustedActionName[]).find((name) => ACTIONS[name] === action);
}

/** The key state a filter's `state = ACTIVE` names. */
export function stateName(state: string): GatewayKeyStateName | undefined {
  return (Object.keys(STATES) as GatewayKeyStateName[]).find((name) => name === state.toLowerCase());
}

function toMoney(nanos: number, currency: string): Money {
  return create(MoneySchema, { currencyCode: currency, ...moneyParts(nanos) });
}
