// Model lists in the OpenAI shape, both ways: read from vendors that speak
// the dialect, and written for callers of the REST surface.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Model } from "../../../gen/ts/switchboard/v1/models_pb.js";
import type { DiscoveredModel } from "../provider.js";

/** A vendor's `GET /models`; an embedding model is told by its name, all the list says. */
export function fromOpenAIModelList(raw: unknown): { models: DiscoveredModel[] } {
  const data = (raw as { data?: { id?: unknown }[] } | null)?.data;
  const models = (Array.isArray(data) ? data : [])
    .map((model) => model?.id)
    .filter((id): id is string => typeof id === "string")
    .map((id) => ({ id, embeddings: /embed/i.test(id) }));
  return { models };
}

/** A model as `GET /v1/models/{model}` answers it, under the name the caller used. */
export function toOpenAIModel(model: Model, id = model.id): JsonObject {
  return { id, object: "model", created: 0, owned_by: model.provider };
}

export function toOpenAIModelList(models: Model[]): JsonObject {
  return { object: "list", data: models.map((m) => toOpenAIModel(m)) };
}
