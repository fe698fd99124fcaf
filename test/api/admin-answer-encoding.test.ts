// connect-es encodes a unary answer after the interceptors are done with the
// call: an AdminService answer that could not be encoded (a Timestamp past
// 9999-12-31 in JSON) reached the caller as Internal while the call log said
// "ok" and switchboard_requests_total counted it as ok. The AdminService now
// encodes each answer once before returning it, so such a failure is the
// call's own: Internal, logged and counted with its code.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GatewayKeySchema, GetKeyResponseSchema } from "../../gen/ts/switchboard/v1/admin_keys_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { withEncodableAnswers } from "../../src/api/admin/encodable-answers.js";
import { createErrorInfoInterceptor } from "../../src/api/envelope/error-info-interceptor.js";
import { createRequestInterceptor } from "../../src/api/envelope/request-interceptor.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { failure } from "../support/failure.js";
import { LogCapture } from "../support/gateway.js";

/** Year 33658: a stored time no JSON Timestamp can carry (a corrupt row, a bug). */
const PAST_YEAR_9999_MS = 1e15;

function adminOver(useBinaryFormat: boolean) {
  const logs = new LogCapture();
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const impl = {
    getKey: () => create(GetKeyResponseSchema, { key: create(GatewayKeySchema, { name: "keys/odd", createTime: timestampFromMs(PAST_YEAR_9999_MS) }) }),
    getLiveStats: () => ({}),
  } as unknown as ServiceImpl<typeof AdminService>;
  const transport = createRouterTransport((router) => router.service(AdminService, withEncodableAnswers(AdminService, impl)), {
    router: { interceptors: [createErrorInfoInterceptor(), createRequestInterceptor(createLogger("info", logs), metrics)] },
    transport: { useBinaryFormat },
  });
  return { client: createClient(AdminService, transport), logs, metrics };
}

describe("an AdminService answer that cannot be encoded", () => {
  it("is Internal to the caller and in the call log and metrics, with the encoder's error as its cause", async () => {
    const { client, logs, metrics } = adminOver(false);
    const error = await failure(client.getKey({ name: "keys/odd" }));
    expect(error.code).toBe(Code.Internal);
    const line = logs.entries.find((entry) => entry.method === "switchboard.v1.AdminService/GetKey")!;
    expect(line.status).toBe("internal");
    expect(JSON.stringify(line.cause)).toContain("cannot encode message google.protobuf.Timestamp to JSON");
    const counted = await metrics.registry.getSingleMetricAsString("switchboard_requests_total");
    expect(counted).toMatch(/method="switchboard\.v1\.AdminService\/GetKey",code="internal"\} 1/);
    expect(counted).not.toContain('code="ok"');
  });

  it("is checked in the format asked for: binary carries the same time, and the call is ok", async () => {
    const { client, logs } = adminOver(true);
    const { key } = await client.getKey({ name: "keys/odd" });
    expect(key?.createTime?.seconds).toBe(BigInt(PAST_YEAR_9999_MS / 1000));
    expect(logs.entries.find((entry) => entry.method === "switchboard.v1.AdminService/GetKey")!.status).toBe("ok");
  });
});
