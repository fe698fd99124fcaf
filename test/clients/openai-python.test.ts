import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireTool, run, startClientHarness, VENV_PYTHON, type ClientHarness } from "./support/client-harness.js";

// The official OpenAI Python SDK (pinned in scripts/python-test-requirements.txt)
// against the gateway's OpenAI-compatible surface, with its default options.
const REQUIREMENTS = "scripts/python-test-requirements.txt";
const PROGRAM = "test/clients/support/openai_sdk_calls.py";
// No __pycache__ in the working tree.
const QUIET_PYTHON = { PYTHONDONTWRITEBYTECODE: "1" };
const QUESTION = "hello from python";
const INPUTS = ["hello", "switchboard gateway"];

let harness: ClientHarness;
beforeAll(async () => {
  harness = await startClientHarness();
});
afterAll(async () => {
  await harness?.stop();
});

/** The project's venv, with the openai package installed from the pinned requirements when it is missing. */
async function pythonWithOpenAI(): Promise<string> {
  const python = requireTool(VENV_PYTHON, "The project's Python environment", "bash scripts/install-test-deps.sh");
  if ((await run(python, ["-c", "import openai"], { env: QUIET_PYTHON })).code !== 0) {
    const install = await run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input", "-r", REQUIREMENTS]);
    expect(install.code, `could not install ${REQUIREMENTS}:\n${install.output}`).toBe(0);
  }
  return python;
}

/** What the vendor itself answers, asked directly. */
async function fromVendor(path: string, body: unknown): Promise<any> {
  const res = await fetch(`${harness.vendor.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${harness.vendor.options.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe("the official OpenAI Python SDK with its default options", () => {
  it("chats, streams, embeds (base64 decoded to the vendor's float32 values), lists and retrieves models, and reads a 404", async () => {
    const python = await pythonWithOpenAI();

    const result = await run(python, [PROGRAM], {
      env: { ...harness.env, ...QUIET_PYTHON, QUESTION, EMBEDDING_INPUTS: JSON.stringify(INPUTS) },
      timeoutMs: 60_000,
    });

    expect(result.code, `the Python program failed:\n${result.output}`).toBe(0);
    const got = JSON.parse(result.stdout);
    const chat = await fromVendor("/chat/completions", { model: "gpt-4o-mini", messages: [{ role: "user", content: QUESTION }] });
    const embeddings = await fromVendor("/embeddings", { model: "text-embedding-3-small", input: INPUTS });
    expect(got.chat).toBe(chat.choices[0].message.content);
    expect(got.chat_request_id).toMatch(/.+/);
    expect(got.stream).toBe(chat.choices[0].message.content);
    expect(got.embeddings).toEqual(embeddings.data.map((e: { embedding: number[] }) => e.embedding.map(Math.fround)));
    expect(got.models).toContain("gpt-4o-mini");
    expect(got.model).toEqual({ id: "gpt-4o-mini", object: "model", owned_by: "openai" });
    expect(got.missing).toMatchObject({ status: 404, code: "model_not_found", request_id: expect.stringMatching(/.+/) });
  }, 180_000);
});
