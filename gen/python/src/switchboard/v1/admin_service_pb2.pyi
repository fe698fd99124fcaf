from switchboard.v1 import admin_console_pb2 as _admin_console_pb2
from switchboard.v1 import admin_keys_pb2 as _admin_keys_pb2
from switchboard.v1 import admin_providers_pb2 as _admin_providers_pb2
from switchboard.v1 import admin_secrets_pb2 as _admin_secrets_pb2
from switchboard.v1 import admin_usage_pb2 as _admin_usage_pb2
from switchboard.v1 import cache_pb2 as _cache_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
