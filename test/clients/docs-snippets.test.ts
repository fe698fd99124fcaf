import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";
import { startGateway, type TestGateway } from "../support/gateway.js";
import { requireCommand, ROOT, run } from "./support/client-harness.js";

// A code block in the docs that follows `<!-- tested: <file> -->` must be made of
// lines of that file, in the file's order (indentation aside): the snippets show
// code that the client tests run, and cannot drift from it unnoticed.
const DOCS = ["docs/clients.md", "README.md"].filter((doc) => existsSync(join(ROOT, doc)));
const MARKED_BLOCK = /<!-- tested: (\S+) -->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;

function snippets(doc: string): { file: string; code: string }[] {
  return [...readFileSync(join(ROOT, doc), "utf8").matchAll(MARKED_BLOCK)].map((m) => ({ file: m[1]!, code: m[2]! }));
}

/** The snippet lines not found, in order, among the file's lines. */
function missingLines(code: string, source: string): string[] {
  const lines = source.split("\n").map((line) => line.trim());
  const missing: string[] = [];
  let at = 0;
  for (const line of code.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const found = lines.findIndex((candidate, i) => i >= at && candidate.includes(line));
    if (found < 0) missing.push(line);
    else at = found + 1;
  }
  return missing;
}

describe.each(DOCS)("code snippets in %s", (doc) => {
  it("come from the tested examples, line for line", () => {
    const found = snippets(doc);
    if (doc === "docs/clients.md") expect(found.map((s) => s.file)).toEqual(expect.arrayContaining(["examples/go/main.go", "examples/python/example.py", "examples/typescript/client.ts", "examples/typescript/browser.ts", "test/clients/grpcurl.test.ts"]));
    for (const { file, code } of found) {
      expect(missingLines(code, readFileSync(join(ROOT, file), "utf8")), `lines of the ${file} snippet in ${doc} that ${file} lacks (in this order)`).toEqual([]);
    }
  });
});

// The quick start's commands (the blocks after `<!-- run: test/clients/docs-snippets.test.ts -->`
// in README.md) run as a newcomer runs them: a gateway started with exactly the variables the
// start line sets (its OPENAI_API_KEY value is what the fake vendor accepts, and OPENAI_BASE_URL
// points the openai provider at the fake), then each command in bash, with the gateway's real
// address in place of localhost:8080.
const RUN_BLOCK = /<!-- run: test\/clients\/docs-snippets\.test\.ts -->\s*\n```[^\n]*\n([\s\S]*?)\n```/g;
const [START_BLOCK = "", COMMAND_BLOCK = ""] = [...readFileSync(join(ROOT, "README.md"), "utf8").matchAll(RUN_BLOCK)].map((m) => m[1]!);

/** A shell block's commands: comments dropped, continuation lines joined. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
}

/** The variables of `VAR=value … npm start`. */
function startVariables(line: string): Record<string, string> {
  const assignments = /^((?:\w+=\S+\s+)+)npm start$/.exec(line)?.[1];
  if (!assignments) throw new Error(`the quick start's start line is not "VAR=value … npm start": ${line}`);
  return Object.fromEntries(assignments.trim().split(/\s+/).map((a) => [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]));
}

/** The JSON body a command sends with `-d '…'`. */
function requestOf(command: string): { messages: { content: string }[] } {
  const body = /-d '([^']*)'/.exec(command)?.[1];
  if (!body) throw new Error(`no -d '…' body in: ${command}`);
  return JSON.parse(body);
}

const echo = (command: string) => `Echo: ${requestOf(command).messages.at(-1)!.content}`;

const QUICK_START = [
  {
    what: "a Connect unary call with curl",
    is: (command: string) => command.startsWith("curl ") && /\/switchboard\.v1\.AIService\/Chat\s/.test(command),
    check(command: string, stdout: string) {
      expect(JSON.parse(stdout)).toMatchObject({ message: { role: "ROLE_ASSISTANT", content: echo(command) }, finishReason: "FINISH_REASON_STOP", provider: "openai" });
    },
  },
  {
    what: "an OpenAI-compatible streaming call with curl",
    is: (command: string) => command.startsWith("curl ") && command.includes("/v1/chat/completions"),
    check(command: string, stdout: string) {
      const events = stdout.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice("data: ".length));
      expect(events.at(-1), `a stream ending in [DONE], not:\n${stdout}`).toBe("[DONE]");
      const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
      expect(chunks.map((chunk) => chunk.choices[0].delta.content ?? "").join("")).toBe(echo(command));
      expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    },
  },
  {
    what: "a ChatStream server stream with buf curl",
    is: (command: string) => command.startsWith("npx buf curl ") && command.includes("/switchboard.v1.AIService/ChatStream"),
    check(command: string, stdout: string) {
      const messages = stdout.trim().split(/\n(?=\{)/).map((message) => JSON.parse(message));
      expect(messages.filter((m) => m.delta).map((m) => m.delta.content).join("")).toBe(echo(command));
      expect(messages.at(-1).summary).toMatchObject({ finishReason: "FINISH_REASON_STOP", provider: "openai", model: "gpt-4o-mini" });
    },
  },
];

describe("the README's quick start, against a live gateway and a fake OpenAI", () => {
  let vendor: OpenAIFake;
  let gateway: TestGateway;
  const variables = startVariables(commands(START_BLOCK).join("\n"));
  const shell = (command: string) =>
    run(requireCommand("bash", "Install bash."), ["-c", command.replaceAll("localhost:8080", `127.0.0.1:${gateway.port}`)], { timeoutMs: 60_000 });

  beforeAll(async () => {
    vendor = await startOpenAIFake({ apiKey: variables.OPENAI_API_KEY! });
    gateway = await startGateway({ ...variables, OPENAI_BASE_URL: vendor.baseUrl });
  });
  afterAll(async () => {
    await gateway?.stop();
    await vendor?.close();
  });

  it("starts the gateway with a master key and an OpenAI key, nothing else", () => {
    expect(Object.keys(variables).sort()).toEqual(["OPENAI_API_KEY", "SWITCHBOARD_MASTER_KEY"]);
  });

  it("has a unary call, an OpenAI-compatible stream and a ChatStream call, each once", () => {
    expect(commands(COMMAND_BLOCK).map((command) => QUICK_START.filter((kind) => kind.is(command)).map((kind) => kind.what))).toEqual(QUICK_START.map((kind) => [kind.what]));
  });

  it.each(QUICK_START)("$what answers with only the quick start's variables", async (kind) => {
    const command = commands(COMMAND_BLOCK).find((c) => kind.is(c));
    expect(command, `the quick start has ${kind.what}`).toBeDefined();
    const result = await shell(command!);
    expect(result.code, result.output).toBe(0);
    kind.check(command!, result.stdout);
  });

  it("answers the unary call without a key with HTTP 401 and code unauthenticated", async () => {
    const chat = commands(COMMAND_BLOCK).find((c) => QUICK_START[0]!.is(c))!;
    const anonymous = `${chat.replace(/-H 'authorization: Bearer [^']*'\s*/, "")} -w '\\n%{http_code}'`;
    expect(anonymous).not.toContain("authorization");
    const result = await shell(anonymous);
    const [body, status] = result.stdout.trim().split("\n");
    expect(status).toBe("401");
    expect(JSON.parse(body!)).toMatchObject({ code: "unauthenticated" });
  });
});
