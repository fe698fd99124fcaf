/** A configuration problem found at start-up: the process refuses to start and says where. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${source}: ${field ? `${field}: ` : ""}${problem}`);
    this.name = "ConfigError";
  }
}
