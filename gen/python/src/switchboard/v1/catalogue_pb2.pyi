from google.type import money_pb2 as _money_pb2
from switchboard.v1 import reasoning_pb2 as _reasoning_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AdjustmentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADJUSTMENT_KIND_UNSPECIFIED: _ClassVar[AdjustmentKind]
    ADJUSTMENT_KIND_CLAMPED: _ClassVar[AdjustmentKind]
    ADJUSTMENT_KIND_SCALED: _ClassVar[AdjustmentKind]
    ADJUSTMENT_KIND_DROPPED: _ClassVar[AdjustmentKind]
    ADJUSTMENT_KIND_DEGRADED: _ClassVar[AdjustmentKind]
    ADJUSTMENT_KIND_CONVERTED: _ClassVar[AdjustmentKind]
    ADJUSTMENT_KIND_RAISED: _ClassVar[AdjustmentKind]
ADJUSTMENT_KIND_UNSPECIFIED: AdjustmentKind
ADJUSTMENT_KIND_CLAMPED: AdjustmentKind
ADJUSTMENT_KIND_SCALED: AdjustmentKind
ADJUSTMENT_KIND_DROPPED: AdjustmentKind
ADJUSTMENT_KIND_DEGRADED: AdjustmentKind
ADJUSTMENT_KIND_CONVERTED: AdjustmentKind
ADJUSTMENT_KIND_RAISED: AdjustmentKind

class ParameterAdjustment(_message.Message):
    __slots__ = ("parameter", "kind", "requested", "sent", "reason")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    kind: AdjustmentKind
    requested: str
    sent: str
    reason: str
    def __init__(self, parameter: _Optional[str] = ..., kind: _Optional[_Union[AdjustmentKind, str]] = ..., requested: _Optional[str] = ..., sent: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ModelLimits(_message.Message):
    __slots__ = ("context_window", "max_output_tokens", "embedding_dimensions", "max_batch")
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    context_window: int
    max_output_tokens: int
    embedding_dimensions: int
    max_batch: int
    def __init__(self, context_window: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., embedding_dimensions: _Optional[int] = ..., max_batch: _Optional[int] = ...) -> None: ...

class ModelPricing(_message.Message):
    __slots__ = ("input", "cached_input", "output", "reasoning", "cache_write", "cache_write_1h", "long_context")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_1H_FIELD_NUMBER: _ClassVar[int]
    LONG_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    input: _money_pb2.Money
    cached_input: _money_pb2.Money
    output: _money_pb2.Money
    reasoning: _money_pb2.Money
    cache_write: _money_pb2.Money
    cache_write_1h: _money_pb2.Money
    long_context: ModelLongContextPricing
    def __init__(self, input: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cached_input: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., output: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reasoning: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cache_write: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cache_write_1h: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., long_context: _Optional[_Union[ModelLongContextPricing, _Mapping]] = ...) -> None: ...

class ModelLongContextPricing(_message.Message):
    __slots__ = ("above_prompt_tokens", "input", "cached_input", "output", "reasoning", "cache_write", "cache_write_1h")
    ABOVE_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    REASONING_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_1H_FIELD_NUMBER: _ClassVar[int]
    above_prompt_tokens: int
    input: _money_pb2.Money
    cached_input: _money_pb2.Money
    output: _money_pb2.Money
    reasoning: _money_pb2.Money
    cache_write: _money_pb2.Money
    cache_write_1h: _money_pb2.Money
    def __init__(self, above_prompt_tokens: _Optional[int] = ..., input: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cached_input: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., output: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reasoning: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cache_write: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cache_write_1h: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ModelReasoning(_message.Message):
    __slots__ = ("always", "efforts", "min_budget_tokens", "max_budget_tokens", "returns_text")
    ALWAYS_FIELD_NUMBER: _ClassVar[int]
    EFFORTS_FIELD_NUMBER: _ClassVar[int]
    MIN_BUDGET_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_BUDGET_TOKENS_FIELD_NUMBER: _ClassVar[int]
    RETURNS_TEXT_FIELD_NUMBER: _ClassVar[int]
    always: bool
    efforts: _containers.RepeatedScalarFieldContainer[_reasoning_pb2.ReasoningEffort]
    min_budget_tokens: int
    max_budget_tokens: int
    returns_text: bool
    def __init__(self, always: _Optional[bool] = ..., efforts: _Optional[_Iterable[_Union[_reasoning_pb2.ReasoningEffort, str]]] = ..., min_budget_tokens: _Optional[int] = ..., max_budget_tokens: _Optional[int] = ..., returns_text: _Optional[bool] = ...) -> None: ...

class ModelSource(_message.Message):
    __slots__ = ("url", "checked")
    URL_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    url: str
    checked: str
    def __init__(self, url: _Optional[str] = ..., checked: _Optional[str] = ...) -> None: ...
