import { create, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { gatewayError } from "../common/gateway-error.js";
import * as v1 from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/ts/grpc/reflection/v1alpha/reflection_pb.js";

type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
/**
 * The response's oneof as plain values: v1 and v1alpha messages have the same
 * fields under different type names, so this one shape initialises either.
 */
type ResponseBody =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/**
 * The longest host, file name or symbol a reflection request may name. Each
 * answer repeats its request (`valid_host`, `original_request`, a "not found"
 * message): with no key needed, an 8 MiB symbol came back as about 24 MiB.
 * The longest name among the served files is under 100 characters.
 */
const MAX_REFLECTION_NAME = 1024;

/** Refuses a request naming more than a reflection request needs, before anything repeats it. */
function checkNames(req: ReflectionRequest): void {
  const named = typeof req.messageRequest.value === "string" ? req.messageRequest.value : "";
  if (req.host.length > MAX_REFLECTION_NAME || named.length > MAX_REFLECTION_NAME) {
    throw gatewayError(Code.InvalidArgument, `a reflection request's host, file name or symbol is at most ${MAX_REFLECTION_NAME} characters`, "INVALID_ARGUMENT");
  }
}

/**
 * Every file and symbol of the served services, with their imports, plus
 * `extraFiles` (the error-detail types), for grpcurl's `list`, `describe`
 * and its printing of error details.
 */
export class DescriptorIndex {
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly encoded = new Map<string, Uint8Array>();

  constructor(
    readonly services: readonly DescService[],
    extraFiles: readonly DescFile[] = [],
  ) {
    for (const file of [...services.map((service) => service.file), ...extraFiles]) this.addFile(file);
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.name + ".proto")) return;
    this.files.set(file.name + ".proto", file);
    this.encoded.set(file.name + ".proto", toBinary(FileDescriptorProtoSchema, file.proto));
    for (const service of file.services) {
      this.symbols.set(service.typeName, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
    const addMessages = (messages: DescFile["messages"]): void => {
      for (const message of messages) {
        this.symbols.set(message.typeName, file);
        for (const nested of message.nestedEnums) this.symbols.set(nested.typeName, file);
        addMessages(message.nestedMessages);
      }
    };
    addMessages(file.messages);
    for (const enumDesc of file.enums) this.symbols.set(enumDesc.typeName, file);
    for (const extension of file.extensions) this.symbols.set(extension.typeName, file);
    for (const dependency of file.dependencies) this.addFile(dependency);
  }

  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  fileBySymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol.replace(/^\./, ""));
  }

  /** The file and its transitive imports, leaving out those this stream has already sent. */
  encodeWithImports(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const visit = (current: DescFile): void => {
      const name = current.name + ".proto";
      if (sent.has(name)) return;
      sent.add(name);
      out.push(this.encoded.get(name)!);
      for (const dependency of current.dependencies) visit(dependency);
    };
    visit(file);
    return out;
  }
}

function answer(index: DescriptorIndex, req: ReflectionRequest, sent: Set<string>): ResponseBody {
  const files = (file: DescFile | undefined, what: string): ResponseBody =>
    file
      ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.encodeWithImports(file, sent) } }
      : { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };
  const request = req.messageRequest;
  switch (request.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((s) => ({ name: s.typeName })) } };
    case "fileByFilename":
      return files(index.fileByName(request.value), `file "${request.value}"`);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(request.value), `symbol "${request.value}"`);
    case "fileContainingExtension":
      return { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: "no extensions are served" } };
    case "allExtensionNumbersOfType":
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: request.value, extensionNumber: [] } };
    default:
      return { case: "errorResponse", value: { errorCode: UNIMPLEMENTED, errorMessage: "unknown request" } };
  }
}

/** gRPC server reflection, v1 (what grpcurl tries first) and v1alpha (its fallback). */
export function createReflectionServices(index: DescriptorIndex): {
  v1: ServiceImpl<typeof v1.ServerReflection>;
  v1alpha: ServiceImpl<typeof v1alpha.ServerReflection>;
} {
  return {
    v1: {
      async *serverReflectionInfo(requests) {
        const sent = new Set<string>();
        for await (const req of requests) {
          checkNames(req);
          yield create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: answer(index, req, sent) });
        }
      },
    },
    v1alpha: {
      async *serverReflectionInfo(requests) {
        const sent = new Set<string>();
        for await (const req of requests) {
          checkNames(req);
          yield create(v1alpha.ServerReflectionResponseSchema, {
            validHost: req.host,
            originalRequest: req,
            messageResponse: answer(index, req, sent),
          });
        }
      },
    },
  };
}
