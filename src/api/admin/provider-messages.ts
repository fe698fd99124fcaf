import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  CanaryProgressSchema,
  CredentialState,
  ProviderCredentialSchema,
  ProviderSchema,
  type Provider,
  type ProviderCredential,
} from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import type { CredentialStateName, KeyView } from "../../secrets/key-pool.js";
import { credentialResourceName, PROVIDER_NAME } from "./resource-names.js";

const STATES: Record<CredentialStateName, CredentialState> = {
  active: CredentialState.ACTIVE,
  standby: CredentialState.STANDBY,
  cooling_down: CredentialState.COOLING_DOWN,
  disabled: CredentialState.DISABLED,
  draining: CredentialState.DRAINING,
  retired: CredentialState.RETIRED,
};

/** A provider and its pool's credentials, as an operator sees them. */
export function toProvider(provider: string, dialect: string, views: KeyView[]): Provider {
  return create(ProviderSchema, {
    name: PROVIDER_NAME.format({ provider }),
    dialect,
    credentials: views.map((view) => toCredential(provider, view)),
  });
}

/** The resource an operator sees: never the secret. */
export function toCredential(provider: string, view: KeyView): ProviderCredential {
  const canary = view.canary;
  return create(ProviderCredentialSchema, {
    name: credentialResourceName(provider, view.id),
    fingerprint: view.fingerprint,
    state: STATES[view.state],
    stateReason: view.reason,
    stateTime: timestampFromMs(view.since),
    nextTransitionTime: view.nextAt !== undefined ? timestampFromMs(view.nextAt) : undefined,
    weight: view.weight,
    trafficShare: view.trafficShare,
    recentSuccesses: BigInt(view.recentSuccesses),
    recentErrors: BigInt(view.recentErrors),
    secretRef: view.source ?? "",
    version: BigInt(view.version ?? 0),
    canary: canary
      ? create(CanaryProgressSchema, {
          trafficShare: canary.share,
          successes: BigInt(canary.successes),
          errors: BigInt(canary.errors),
          promoteAfter: BigInt(canary.promoteAfter),
          activeErrorRate: canary.activeErrorRate,
          replaces: canary.replaces ? credentialResourceName(provider, canary.replaces) : "",
          stageTime: timestampFromMs(canary.stagedAt),
        })
      : undefined,
  });
}
