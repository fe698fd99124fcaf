from switchboard.v1 import catalogue_pb2 as _catalogue_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_CHAT: _ClassVar[Capability]
    CAPABILITY_STREAMING: _ClassVar[Capability]
    CAPABILITY_TOOLS: _ClassVar[Capability]
    CAPABILITY_EMBEDDINGS: _ClassVar[Capability]
    CAPABILITY_JSON_MODE: _ClassVar[Capability]
    CAPABILITY_JSON_SCHEMA: _ClassVar[Capability]
    CAPABILITY_PARALLEL_TOOL_CALLS: _ClassVar[Capability]
    CAPABILITY_IMAGE_INPUT: _ClassVar[Capability]
    CAPABILITY_REASONING: _ClassVar[Capability]
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_CHAT: Capability
CAPABILITY_STREAMING: Capability
CAPABILITY_TOOLS: Capability
CAPABILITY_EMBEDDINGS: Capability
CAPABILITY_JSON_MODE: Capability
CAPABILITY_JSON_SCHEMA: Capability
CAPABILITY_PARALLEL_TOOL_CALLS: Capability
CAPABILITY_IMAGE_INPUT: Capability
CAPABILITY_REASONING: Capability

class Model(_message.Message):
    __slots__ = ("id", "provider", "upstream_model", "capabilities", "discovered", "limits", "pricing", "reasoning", "source")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_MODEL_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DISCOVERED_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    provider: str
    upstream_model: str
    capabilities: _containers.RepeatedScalarFieldContainer[Capability]
    discovered: bool
    limits: _catalogue_pb2.ModelLimits
    pricing: _catalogue_pb2.ModelPricing
    reasoning: _catalogue_pb2.ModelReasoning
    source: _catalogue_pb2.ModelSource
    def __init__(self, id: _Optional[str] = ..., provider: _Optional[str] = ..., upstream_model: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Capability, str]]] = ..., discovered: _Optional[bool] = ..., limits: _Optional[_Union[_catalogue_pb2.ModelLimits, _Mapping]] = ..., pricing: _Optional[_Union[_catalogue_pb2.ModelPricing, _Mapping]] = ..., reasoning: _Optional[_Union[_catalogue_pb2.ModelReasoning, _Mapping]] = ..., source: _Optional[_Union[_catalogue_pb2.ModelSource, _Mapping]] = ...) -> None: ...
