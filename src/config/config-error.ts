/** One thing wrong with the configuration: the field (as the docs write it, `routes[0].provider`) and the problem. */
export interface ConfigProblem {
  field: string;
  problem: string;
}

/**
 * A configuration problem found at start-up: the process refuses to start
 * and says where. A file read against its schema has every problem found
 * said at once (`others`), so that fixing it takes one restart, not one a
 * mistake.
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly problem: string,
    readonly others: readonly ConfigProblem[] = [],
  ) {
    const line = ({ field, problem }: ConfigProblem) => `${field ? `${field}: ` : ""}${problem}`;
    const more = others.map((other) => `\n  ${line(other)}`).join("");
    super(`${source}: ${line({ field, problem })}${more}`);
    this.name = "ConfigError";
  }
}
