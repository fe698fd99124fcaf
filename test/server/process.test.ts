import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGatedVendor } from "../cache/support/gated-vendor.js";
import { startOpenAIFake, type OpenAIFake } from "../fakes/openai-fake.js";

/** Runs the real CLI entry point, as `npm start` does, in a child process. */
function startProcess(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
    cwd: join(import.meta.dirname, "../.."),
    env: { PATH: process.env.PATH, HOST: "127.0.0.1", SWITCHBOARD_DATA_DIR: mkdtempSync(join(tmpdir(), "sb-proc-")), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function listeningPort(output: () => string): Promise<number> {
  await expect.poll(() => /"port":(\d+)/.exec(output()), { timeout: 15_000, interval: 100 }).toBeTruthy();
  return Number(/"port":(\d+)/.exec(output())![1]);
}

let fake: OpenAIFake;
beforeAll(async () => {
  fake = await startOpenAIFake({ apiKey: "sk-up" });
});
afterAll(() => fake.close());

describe("the switchboard process", () => {
  it("serves on its environment, answers a Connect call, and exits 0 on SIGTERM", async () => {
    const proc = startProcess({ SWITCHBOARD_MASTER_KEY: "sk-test", OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: fake.baseUrl, PORT: "0" });
    const port = await listeningPort(proc.output);
    // The start line says where the console is.
    expect(proc.output()).toContain(`"console":"http://127.0.0.1:${port}/console"`);
    const res = await fetch(`http://127.0.0.1:${port}/switchboard.v1.AIService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "ROLE_USER", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).message.content).toBe("Echo: hi");
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    // It ran its shutdown to the end (the event loop running dry halfway through would exit 0 too).
    expect(proc.output()).toContain('"msg":"stopped"');
    expect(proc.output()).not.toContain("sk-up\"");
    expect(proc.output()).not.toMatch(/sk-test\b/);
  });

  it("generates a master key at first start, hands it over once, and keeps only its digest", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sb-proc-"));
    const first = startProcess({ PORT: "0", SWITCHBOARD_DATA_DIR: dataDir });
    const port = await listeningPort(first.output);
    // stderr here is a pipe, as under docker or systemd: the key goes to a file of this user's, never into the collected output.
    const keyFile = join(dataDir, "master-key.generated");
    expect(first.output()).not.toContain("sk-sb-");
    expect(first.output()).toContain(`it is in ${keyFile}, readable by this user only`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, "utf8").trim();
    expect(key).toMatch(/^sk-sb-[A-Za-z0-9_-]{43}$/);
    const ok = await fetch(`http://127.0.0.1:${port}/switchboard.v1.AIService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: "{}",
    });
    expect(ok.status).toBe(200);
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);

    const second = startProcess({ PORT: "0", SWITCHBOARD_DATA_DIR: dataDir });
    const port2 = await listeningPort(second.output);
    expect(second.output()).not.toContain("sk-sb-");
    expect(second.output()).not.toContain("master-key.generated");
    const again = await fetch(`http://127.0.0.1:${port2}/switchboard.v1.AIService/ListModels`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: "{}",
    });
    expect(again.status).toBe(200);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });

  it("finishes the calls in flight when Ctrl-C reaches it twice at once (npm start passes its own on)", async () => {
    const gate = await startGatedVendor(fake.baseUrl);
    try {
      const proc = startProcess({ SWITCHBOARD_MASTER_KEY: "sk-test", OPENAI_API_KEY: "sk-up", OPENAI_BASE_URL: gate.baseUrl, PORT: "0" });
      const port = await listeningPort(proc.output);
      const call = fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-test" },
        body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "still there?" }], stream: true }),
      }).then(async (res) => [res.status, await res.text()] as const);
      await expect.poll(() => gate.received, { timeout: 15_000 }).toBe(1);
      proc.child.kill("SIGINT");
      await expect.poll(() => proc.output(), { timeout: 15_000 }).toContain("draining in-flight calls");
      // npm's own, a moment later.
      proc.child.kill("SIGINT");
      await expect.poll(() => proc.output(), { timeout: 15_000 }).toContain("already draining");
      gate.open();
      const [status, body] = await call;
      expect(status).toBe(200);
      expect(body).toContain(`"finish_reason":"stop"`);
      expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
      expect(await proc.exited).toBe(0);
      expect(proc.output()).toContain('"msg":"stopped"');
    } finally {
      await gate.close();
    }
  });

  it("refuses to start on a bad config file, naming the file, the field and the problem", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sb-proc-")), "bad.yaml");
    writeFileSync(path, "server:\n  port: -1\n");
    const proc = startProcess({ SWITCHBOARD_CONFIG: path });
    expect(await proc.exited).toBe(78);
    expect(proc.output()).toContain(`${path}: server.port:`);
  });

  it("says plainly, without a stack trace, that its port is taken", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const { port } = taken.address() as AddressInfo;
    try {
      const proc = startProcess({ PORT: String(port) });
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toContain(`switchboard: cannot listen on 127.0.0.1:${port} (EADDRINUSE: another process is listening there`);
      expect(proc.output()).not.toMatch(/\n\s+at /);
    } finally {
      taken.close();
    }
  });
});
