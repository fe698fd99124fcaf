import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UsageDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USAGE_DIMENSION_UNSPECIFIED: _ClassVar[UsageDimension]
    USAGE_DIMENSION_PROVIDER: _ClassVar[UsageDimension]
    USAGE_DIMENSION_MODEL: _ClassVar[UsageDimension]
    USAGE_DIMENSION_KEY: _ClassVar[UsageDimension]
    USAGE_DIMENSION_TEAM: _ClassVar[UsageDimension]
    USAGE_DIMENSION_DAY: _ClassVar[UsageDimension]
    USAGE_DIMENSION_SURFACE: _ClassVar[UsageDimension]
USAGE_DIMENSION_UNSPECIFIED: UsageDimension
USAGE_DIMENSION_PROVIDER: UsageDimension
USAGE_DIMENSION_MODEL: UsageDimension
USAGE_DIMENSION_KEY: UsageDimension
USAGE_DIMENSION_TEAM: UsageDimension
USAGE_DIMENSION_DAY: UsageDimension
USAGE_DIMENSION_SURFACE: UsageDimension

class GetUsageReportRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "key", "team", "provider", "model", "group_by", "surface", "page_size", "page_token")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    key: str
    team: str
    provider: str
    model: str
    group_by: _containers.RepeatedScalarFieldContainer[UsageDimension]
    surface: str
    page_size: int
    page_token: str
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key: _Optional[str] = ..., team: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., group_by: _Optional[_Iterable[_Union[UsageDimension, str]]] = ..., surface: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetUsageReportResponse(_message.Message):
    __slots__ = ("rows", "total", "start_time", "end_time", "next_page_token")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[UsageReportRow]
    total: UsageReportRow
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    next_page_token: str
    def __init__(self, rows: _Optional[_Iterable[_Union[UsageReportRow, _Mapping]]] = ..., total: _Optional[_Union[UsageReportRow, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UsageReportRow(_message.Message):
    __slots__ = ("provider", "model", "key", "team", "day", "requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost", "downgraded", "cache_hits", "mean_latency", "saved_cost", "surface")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    DOWNGRADED_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_FIELD_NUMBER: _ClassVar[int]
    SAVED_COST_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    key: str
    team: str
    day: _timestamp_pb2.Timestamp
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost: _money_pb2.Money
    downgraded: int
    cache_hits: int
    mean_latency: _duration_pb2.Duration
    saved_cost: _money_pb2.Money
    surface: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., key: _Optional[str] = ..., team: _Optional[str] = ..., day: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cached_tokens: _Optional[int] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., downgraded: _Optional[int] = ..., cache_hits: _Optional[int] = ..., mean_latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., saved_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., surface: _Optional[str] = ...) -> None: ...
