"""Runs a protoc plugin on the files under one path prefix only.

    only.py <prefix> <plugin command...>

buf hands a plugin every file of the workspace; this keeps the files to
generate that start with <prefix> and passes the rest on as imports only, so
their types stay intact (unlike buf's `exclude_types`, which also deletes the
fields that use them). A request with nothing left gets an empty answer.
"""

import subprocess
import sys

from google.protobuf.compiler import plugin_pb2


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: only.py <prefix> <plugin command...>", file=sys.stderr)
        return 2
    prefix, command = sys.argv[1], sys.argv[2:]
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    keep = [name for name in request.file_to_generate if name.startswith(prefix)]
    if not keep:
        response = plugin_pb2.CodeGeneratorResponse(
            supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
        )
        sys.stdout.buffer.write(response.SerializeToString())
        return 0
    del request.file_to_generate[:]
    request.file_to_generate.extend(keep)
    result = subprocess.run(command, input=request.SerializeToString(), stdout=subprocess.PIPE)
    sys.stdout.buffer.write(result.stdout)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
