from switchboard.v1 import admin_keys_pb2 as _admin_keys_pb2
from switchboard.v1 import admin_providers_pb2 as _admin_providers_pb2
from switchboard.v1 import admin_usage_pb2 as _admin_usage_pb2
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor
