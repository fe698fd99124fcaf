import type { ListProvidersRequest, StageKeyRequest } from "../../../gen/ts/switchboard/v1/admin_providers_pb.js";
import { isCredentialWeight, MAX_CREDENTIAL_WEIGHT } from "../../secrets/credential-weight.js";
import type { StageRequest } from "../../secrets/provider-pools.js";
import type { FieldViolations } from "../aip/field-violations.js";
import { createPageTokenCodec, readPageSize } from "../aip/pagination.js";
import { CREDENTIAL_NAME, poolCredentialId, PROVIDER_NAME } from "./resource-names.js";

/** Providers are listed by name: a page ends at one. */
const PROVIDER_PAGES = createPageTokenCodec("ListProviders", (value): value is string => typeof value === "string");
const PAGE_SIZES = { default: 1000, max: 1000 };

/** StageKey's request as the pools take it; the pool checks the rest (the credential id, the references). */
export function readStageKey(req: StageKeyRequest, v: FieldViolations): { provider: string; request: StageRequest } {
  const provider = PROVIDER_NAME.read(req.parent, "parent", v)?.provider ?? "";
  if (!req.credentialId) v.add("credential_id", "is required");
  if (!req.secretRef) v.add("secret_ref", 'is required: a reference such as "vault:secret/switchboard/openai#api_key", never the secret itself');
  if (!isCredentialWeight(req.weight)) v.add("weight", `must be a number from 0 to ${MAX_CREDENTIAL_WEIGHT}`);
  // Written so that NaN fails too (JSON's "NaN" is a double): it would otherwise fall through to the default share.
  if (!(req.trafficShare >= 0 && req.trafficShare <= 1)) v.add("traffic_share", "must be above 0 and at most 1 (0 for the default)");
  if (req.promoteAfter < 0) v.add("promote_after", "must not be negative");
  const replaces = req.replaces ? CREDENTIAL_NAME.read(req.replaces, "replaces", v) : undefined;
  if (provider && replaces && replaces.provider !== provider) v.add("replaces", `must be a credential of ${PROVIDER_NAME.format({ provider })}`);
  return {
    provider,
    request: {
      credentialId: req.credentialId,
      secretRef: req.secretRef,
      secondaryRef: req.secondaryRef || undefined,
      replaces: replaces && poolCredentialId(replaces),
      weight: req.weight || undefined,
      share: req.trafficShare || undefined,
      promoteAfter: req.promoteAfter || undefined,
    },
  };
}

/** A credential's resource name as the pools name it: its provider and "{provider}/{credential}". */
export function readCredentialName(name: string, field: string): { provider: string; id: string } {
  const ids = CREDENTIAL_NAME.require(name, field);
  return { provider: ids.provider, id: poolCredentialId(ids) };
}

/** ListProviders' page: its size and the provider name it starts after. */
export function readProviderListing(req: ListProvidersRequest, v: FieldViolations): { size: number; after: string | undefined } {
  return { size: readPageSize(req.pageSize, PAGE_SIZES, v), after: PROVIDER_PAGES.decode(req.pageToken, v) };
}

/** The next_page_token after a page that ends with provider `last`. */
export function nextProviderPageToken(last: string): string {
  return PROVIDER_PAGES.encode(last);
}
