import { createMethodImplSpec, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { file_google_rpc_error_details } from "../../gen/ts/google/rpc/error_details_pb.js";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/ts/grpc/reflection/v1alpha/reflection_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";
import { AIService } from "../../gen/ts/switchboard/v1/ai_service_pb.js";
import { createAIService } from "../api/ai-service.js";
import type { Gateway } from "../gateway/gateway.js";
import type { HealthState } from "../common/health-state.js";
import { createHealthService, type HealthWatchLimits } from "./health-service.js";
import type { HotMethod } from "./lean-rpc/lean-rpc.js";
import { encodeTextDelta, encodeTextDeltaJson } from "./lean-rpc/text-delta-encoding.js";
import { createReflectionServices, DescriptorIndex } from "./reflection-service.js";

/** The API services a client can call (reflection lists these plus itself and health). */
export const API_SERVICES: readonly DescService[] = [AIService, AdminService];

/**
 * Files no service imports whose types travel in error details (ErrorInfo,
 * RetryInfo, BadRequest): grpcurl resolves a detail's type URL through
 * reflection to print it.
 */
export const ERROR_DETAIL_FILES: readonly DescFile[] = [file_google_rpc_error_details];

/** Every Connect service the server mounts, in one place. */
export function createRoutes(
  gateway: Gateway,
  health: HealthState,
  admin: ServiceImpl<typeof AdminService>,
  healthWatches?: HealthWatchLimits,
): (router: ConnectRouter) => void {
  const index = new DescriptorIndex([...API_SERVICES, Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection], ERROR_DETAIL_FILES);
  const reflection = createReflectionServices(index);
  return (router) => {
    router.service(AIService, createAIService(gateway));
    router.service(AdminService, admin);
    router.service(Health, createHealthService(health, healthWatches));
    router.service(reflectionV1.ServerReflection, reflection.v1);
    router.service(reflectionV1alpha.ServerReflection, reflection.v1alpha);
  };
}

/**
 * The AIService's hot methods, served by the lean path (server/lean-rpc)
 * through the same interceptors; connect-es serves the rest of the service,
 * and any request of these the lean path declines.
 */
export function hotMethods(gateway: Gateway): HotMethod[] {
  const service = createAIService(gateway);
  return [
    { spec: createMethodImplSpec(AIService.method.chat, service.chat) },
    { spec: createMethodImplSpec(AIService.method.embed, service.embed) },
    { spec: createMethodImplSpec(AIService.method.chatStream, service.chatStream), encoders: { binary: encodeTextDelta, json: encodeTextDeltaJson } },
  ];
}
