import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { requireCommand, requireTool, ROOT, run, startClientHarness, type ClientHarness } from "./support/client-harness.js";

// examples/go is a Go program whose tests call the gateway through the generated
// gen/go stubs (grpc-go and connect-go). This file starts the gateway and runs them.
const GO_TESTS = ["TestRun", "TestListModels", "TestChat", "TestChatStream", "TestUnauthenticated", "TestDeadlineExceeded", "TestConnectGoClient"];

let harness: ClientHarness;
beforeAll(async () => {
  harness = await startClientHarness();
});
afterAll(async () => {
  await harness?.stop();
});

describe("the Go client (examples/go over gen/go)", () => {
  it("lists models, chats, streams, and gets Unauthenticated and DeadlineExceeded from the live gateway", async () => {
    const go = requireCommand("go", "Install Go 1.26+, then run `npm run generate`.");
    requireTool(join(ROOT, "gen/go/switchboard/v1/ai_service_grpc.pb.go"), "The generated Go code", "npm run generate");

    const result = await run(go, ["test", "-count=1", "-v", "./..."], { cwd: join(ROOT, "examples/go"), env: harness.env });

    expect(result.code, `go test failed:\n${result.output}`).toBe(0);
    for (const name of GO_TESTS) expect(result.stdout, result.output).toContain(`--- PASS: ${name} `);
    expect(result.stdout).not.toContain("--- SKIP");
    // The caller's deadline reached the vendor: the gateway gave up on the request it made.
    await vi.waitFor(() => expect(harness.hangingVendor.abandoned.length).toBeGreaterThan(0), { timeout: 5_000 });
  }, 300_000);
});
