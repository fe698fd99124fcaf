from google.protobuf import struct_pb2 as _struct_pb2
from switchboard.v1 import cache_pb2 as _cache_pb2
from switchboard.v1 import catalogue_pb2 as _catalogue_pb2
from switchboard.v1 import chat_pb2 as _chat_pb2
from switchboard.v1 import models_pb2 as _models_pb2
from switchboard.v1 import reasoning_pb2 as _reasoning_pb2
from switchboard.v1 import routing_pb2 as _routing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChatRequest(_message.Message):
    __slots__ = ("model", "messages", "temperature", "top_p", "max_tokens", "stop", "seed", "user", "tools", "tool_choice", "response_format", "presence_penalty", "frequency_penalty", "vendor_options", "cache_control", "reasoning", "logprobs", "top_logprobs")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    VENDOR_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    model: str
    messages: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Message]
    temperature: float
    top_p: float
    max_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    user: str
    tools: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Tool]
    tool_choice: _chat_pb2.ToolChoice
    response_format: _chat_pb2.ResponseFormat
    presence_penalty: float
    frequency_penalty: float
    vendor_options: _struct_pb2.Struct
    cache_control: _cache_pb2.CacheControl
    reasoning: _reasoning_pb2.ReasoningConfig
    logprobs: bool
    top_logprobs: int
    def __init__(self, model: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[_chat_pb2.Message, _Mapping]]] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_tokens: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., user: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[_chat_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_chat_pb2.ToolChoice, _Mapping]] = ..., response_format: _Optional[_Union[_chat_pb2.ResponseFormat, _Mapping]] = ..., presence_penalty: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., vendor_options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., cache_control: _Optional[_Union[_cache_pb2.CacheControl, str]] = ..., reasoning: _Optional[_Union[_reasoning_pb2.ReasoningConfig, _Mapping]] = ..., logprobs: _Optional[bool] = ..., top_logprobs: _Optional[int] = ...) -> None: ...

class ChatResponse(_message.Message):
    __slots__ = ("id", "message", "finish_reason", "usage", "provider", "model", "request_id", "attempts", "requested_model", "downgraded", "cached", "coalesced", "stop_sequence", "vendor_model", "system_fingerprint", "service_tier", "logprobs", "adjustments")
    ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_FIELD_NUMBER: _ClassVar[int]
    DOWNGRADED_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    COALESCED_FIELD_NUMBER: _ClassVar[int]
    STOP_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_MODEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TIER_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    message: _chat_pb2.Message
    finish_reason: _chat_pb2.FinishReason
    usage: _chat_pb2.Usage
    provider: str
    model: str
    request_id: str
    attempts: _containers.RepeatedCompositeFieldContainer[_routing_pb2.Attempt]
    requested_model: str
    downgraded: bool
    cached: bool
    coalesced: bool
    stop_sequence: str
    vendor_model: str
    system_fingerprint: str
    service_tier: str
    logprobs: _chat_pb2.Logprobs
    adjustments: _containers.RepeatedCompositeFieldContainer[_catalogue_pb2.ParameterAdjustment]
    def __init__(self, id: _Optional[str] = ..., message: _Optional[_Union[_chat_pb2.Message, _Mapping]] = ..., finish_reason: _Optional[_Union[_chat_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_chat_pb2.Usage, _Mapping]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., request_id: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[_routing_pb2.Attempt, _Mapping]]] = ..., requested_model: _Optional[str] = ..., downgraded: _Optional[bool] = ..., cached: _Optional[bool] = ..., coalesced: _Optional[bool] = ..., stop_sequence: _Optional[str] = ..., vendor_model: _Optional[str] = ..., system_fingerprint: _Optional[str] = ..., service_tier: _Optional[str] = ..., logprobs: _Optional[_Union[_chat_pb2.Logprobs, _Mapping]] = ..., adjustments: _Optional[_Iterable[_Union[_catalogue_pb2.ParameterAdjustment, _Mapping]]] = ...) -> None: ...

class ChatStreamRequest(_message.Message):
    __slots__ = ("model", "messages", "temperature", "top_p", "max_tokens", "stop", "seed", "user", "tools", "tool_choice", "response_format", "presence_penalty", "frequency_penalty", "vendor_options", "cache_control", "reasoning", "logprobs", "top_logprobs")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CHOICE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    VENDOR_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CONTROL_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    TOP_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    model: str
    messages: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Message]
    temperature: float
    top_p: float
    max_tokens: int
    stop: _containers.RepeatedScalarFieldContainer[str]
    seed: int
    user: str
    tools: _containers.RepeatedCompositeFieldContainer[_chat_pb2.Tool]
    tool_choice: _chat_pb2.ToolChoice
    response_format: _chat_pb2.ResponseFormat
    presence_penalty: float
    frequency_penalty: float
    vendor_options: _struct_pb2.Struct
    cache_control: _cache_pb2.CacheControl
    reasoning: _reasoning_pb2.ReasoningConfig
    logprobs: bool
    top_logprobs: int
    def __init__(self, model: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[_chat_pb2.Message, _Mapping]]] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., max_tokens: _Optional[int] = ..., stop: _Optional[_Iterable[str]] = ..., seed: _Optional[int] = ..., user: _Optional[str] = ..., tools: _Optional[_Iterable[_Union[_chat_pb2.Tool, _Mapping]]] = ..., tool_choice: _Optional[_Union[_chat_pb2.ToolChoice, _Mapping]] = ..., response_format: _Optional[_Union[_chat_pb2.ResponseFormat, _Mapping]] = ..., presence_penalty: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., vendor_options: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., cache_control: _Optional[_Union[_cache_pb2.CacheControl, str]] = ..., reasoning: _Optional[_Union[_reasoning_pb2.ReasoningConfig, _Mapping]] = ..., logprobs: _Optional[bool] = ..., top_logprobs: _Optional[int] = ...) -> None: ...

class ChatStreamResponse(_message.Message):
    __slots__ = ("delta", "summary")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    delta: ChatDelta
    summary: ChatSummary
    def __init__(self, delta: _Optional[_Union[ChatDelta, _Mapping]] = ..., summary: _Optional[_Union[ChatSummary, _Mapping]] = ...) -> None: ...

class ChatDelta(_message.Message):
    __slots__ = ("content", "tool_calls", "reasoning_content", "refusal", "reasoning", "logprobs", "id", "vendor_model", "system_fingerprint", "service_tier", "reasoning_summarized")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    REASONING_CONTENT_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    VENDOR_MODEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TIER_FIELD_NUMBER: _ClassVar[int]
    REASONING_SUMMARIZED_FIELD_NUMBER: _ClassVar[int]
    content: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[_chat_pb2.ToolCallDelta]
    reasoning_content: str
    refusal: str
    reasoning: _containers.RepeatedCompositeFieldContainer[_reasoning_pb2.ReasoningBlock]
    logprobs: _chat_pb2.Logprobs
    id: str
    vendor_model: str
    system_fingerprint: str
    service_tier: str
    reasoning_summarized: bool
    def __init__(self, content: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[_chat_pb2.ToolCallDelta, _Mapping]]] = ..., reasoning_content: _Optional[str] = ..., refusal: _Optional[str] = ..., reasoning: _Optional[_Iterable[_Union[_reasoning_pb2.ReasoningBlock, _Mapping]]] = ..., logprobs: _Optional[_Union[_chat_pb2.Logprobs, _Mapping]] = ..., id: _Optional[str] = ..., vendor_model: _Optional[str] = ..., system_fingerprint: _Optional[str] = ..., service_tier: _Optional[str] = ..., reasoning_summarized: _Optional[bool] = ...) -> None: ...

class ChatSummary(_message.Message):
    __slots__ = ("id", "finish_reason", "usage", "tool_calls", "provider", "model", "request_id", "usage_estimated", "attempts", "requested_model", "downgraded", "cached", "coalesced", "stop_sequence", "vendor_model", "system_fingerprint", "service_tier", "adjustments", "reasoning")
    ID_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USAGE_ESTIMATED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_FIELD_NUMBER: _ClassVar[int]
    DOWNGRADED_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    COALESCED_FIELD_NUMBER: _ClassVar[int]
    STOP_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_MODEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_TIER_FIELD_NUMBER: _ClassVar[int]
    ADJUSTMENTS_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    id: str
    finish_reason: _chat_pb2.FinishReason
    usage: _chat_pb2.Usage
    tool_calls: _containers.RepeatedCompositeFieldContainer[_chat_pb2.ToolCall]
    provider: str
    model: str
    request_id: str
    usage_estimated: bool
    attempts: _containers.RepeatedCompositeFieldContainer[_routing_pb2.Attempt]
    requested_model: str
    downgraded: bool
    cached: bool
    coalesced: bool
    stop_sequence: str
    vendor_model: str
    system_fingerprint: str
    service_tier: str
    adjustments: _containers.RepeatedCompositeFieldContainer[_catalogue_pb2.ParameterAdjustment]
    reasoning: _containers.RepeatedCompositeFieldContainer[_reasoning_pb2.ReasoningBlock]
    def __init__(self, id: _Optional[str] = ..., finish_reason: _Optional[_Union[_chat_pb2.FinishReason, str]] = ..., usage: _Optional[_Union[_chat_pb2.Usage, _Mapping]] = ..., tool_calls: _Optional[_Iterable[_Union[_chat_pb2.ToolCall, _Mapping]]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., request_id: _Optional[str] = ..., usage_estimated: _Optional[bool] = ..., attempts: _Optional[_Iterable[_Union[_routing_pb2.Attempt, _Mapping]]] = ..., requested_model: _Optional[str] = ..., downgraded: _Optional[bool] = ..., cached: _Optional[bool] = ..., coalesced: _Optional[bool] = ..., stop_sequence: _Optional[str] = ..., vendor_model: _Optional[str] = ..., system_fingerprint: _Optional[str] = ..., service_tier: _Optional[str] = ..., adjustments: _Optional[_Iterable[_Union[_catalogue_pb2.ParameterAdjustment, _Mapping]]] = ..., reasoning: _Optional[_Iterable[_Union[_reasoning_pb2.ReasoningBlock, _Mapping]]] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("model", "inputs", "dimensions", "user", "token_inputs")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_INPUTS_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    dimensions: int
    user: str
    token_inputs: _containers.RepeatedCompositeFieldContainer[TokenIds]
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., dimensions: _Optional[int] = ..., user: _Optional[str] = ..., token_inputs: _Optional[_Iterable[_Union[TokenIds, _Mapping]]] = ...) -> None: ...

class TokenIds(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, ids: _Optional[_Iterable[int]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "usage", "provider", "model", "request_id", "attempts", "requested_model")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    usage: _chat_pb2.Usage
    provider: str
    model: str
    request_id: str
    attempts: _containers.RepeatedCompositeFieldContainer[_routing_pb2.Attempt]
    requested_model: str
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., usage: _Optional[_Union[_chat_pb2.Usage, _Mapping]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., request_id: _Optional[str] = ..., attempts: _Optional[_Iterable[_Union[_routing_pb2.Attempt, _Mapping]]] = ..., requested_model: _Optional[str] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("index", "values")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    index: int
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, index: _Optional[int] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("provider",)
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    provider: str
    def __init__(self, provider: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[_models_pb2.Model]
    def __init__(self, models: _Optional[_Iterable[_Union[_models_pb2.Model, _Mapping]]] = ...) -> None: ...
