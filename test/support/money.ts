import type { Money } from "../../gen/ts/google/type/money_pb.js";
import { fromMoneyParts } from "../../src/usage/pricing.js";

/** Nano-dollars per token at a price of `perMillion` dollars per million tokens. */
export const nanosPerTokenAt = (perMillion: number): number => perMillion * 1000;

/** An amount of money in nano-units; none at all is 0. */
export const nanosOf = (money: Money | undefined): number => (money ? fromMoneyParts(money.units, money.nanos) : 0);
