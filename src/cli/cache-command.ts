import { parseArgs } from "node:util";
import { ADMIN_CONNECTION_HELP, adminClient, asksForHelp, CliError, runCli, type CliIo } from "./admin-client.js";

export const CACHE_USAGE = `usage: switchboard cache purge [options]

Removes cached answers from Redis and from every instance's memory.
At least one option; the options given must all match. An admin key of a
team purges its own team's answers only: --team TEAM of its own, or --key of
one of its team's keys (with --model or not).

options:
  --key ID               the answers cached for this key ("master" for the master key)
  --team TEAM            the answers cached for this team (routes with share: team)
  --model MODEL          the answers of this model ("gpt-4o-mini" or "openai/gpt-4o-mini"): the
                         model that answered, not a route alias in front of it

${ADMIN_CONNECTION_HELP}`;

/** `switchboard cache purge --key ID | --team TEAM | --model MODEL`. Returns the exit code. */
export async function cacheCommand(args: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  if (args[0] === undefined || args[0] === "help" || asksForHelp(args)) {
    io.stdout.write(`${CACHE_USAGE}\n`);
    return args[0] === undefined ? 2 : 0;
  }
  return runCli(io, async () => {
    if (args[0] !== "purge") throw new CliError(`unknown cache command "${args[0]}"\n\n${CACHE_USAGE}`, 2);
    let values;
    try {
      values = parseArgs({ args: args.slice(1), options: { key: { type: "string" }, team: { type: "string" }, model: { type: "string" } }, strict: true }).values;
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n\n${CACHE_USAGE}`, 2);
    }
    if (!values.key && !values.team && !values.model) throw new CliError(`say what to purge: --key, --team or --model\n\n${CACHE_USAGE}`, 2);
    const { purgedEntries } = await adminClient(io).purgeCache({
      key: values.key ? `keys/${values.key.replace(/^keys\//, "")}` : "",
      team: values.team ?? "",
      model: values.model ?? "",
    });
    io.stdout.write(`purged ${purgedEntries} cached ${purgedEntries === 1n ? "answer" : "answers"}\n`);
  });
}
