import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requireTool, ROOT, run, startClientHarness, VENV_PYTHON, type ClientHarness } from "./support/client-harness.js";

// examples/python is a Python program whose tests call the gateway through the
// generated gen/python stubs (grpcio), installed into .venv by `npm run generate`.
const PY_TESTS = ["test_run", "test_list_models", "test_chat", "test_chat_stream", "test_unauthenticated", "test_deadline_exceeded"];
// No __pycache__ or .pytest_cache in the working tree.
const QUIET_PYTHON = { PYTHONDONTWRITEBYTECODE: "1" };

let harness: ClientHarness;
beforeAll(async () => {
  harness = await startClientHarness();
});
afterAll(async () => {
  await harness?.stop();
});

describe("the Python client (examples/python over gen/python)", () => {
  it("lists models, chats, streams, and gets UNAUTHENTICATED and DEADLINE_EXCEEDED from the live gateway", async () => {
    const python = requireTool(VENV_PYTHON, "The project's Python environment", "bash scripts/install-test-deps.sh");

    const result = await run(python, ["-m", "pytest", "-v", "-p", "no:cacheprovider", "examples/python"], { env: { ...harness.env, ...QUIET_PYTHON } });

    expect(result.code, `pytest failed:\n${result.output}`).toBe(0);
    for (const name of PY_TESTS) expect(result.stdout, result.output).toMatch(new RegExp(`::${name} PASSED`));
    expect(result.stdout).not.toMatch(/SKIPPED|XFAIL/);
    await vi.waitFor(() => expect(harness.hangingVendor.abandoned.length).toBeGreaterThan(0), { timeout: 5_000 });
  }, 120_000);

  it("type-checks against the generated .pyi stubs (mypy --strict)", async () => {
    const python = requireTool(VENV_PYTHON, "The project's Python environment", "bash scripts/install-test-deps.sh");

    const result = await run(python, ["-m", "mypy", "--config-file", "examples/python/mypy.ini", "--cache-dir", join(ROOT, ".tools/cache/mypy"), "examples/python"], { env: QUIET_PYTHON });

    expect(result.code, `mypy failed:\n${result.output}`).toBe(0);
  }, 120_000);
});
