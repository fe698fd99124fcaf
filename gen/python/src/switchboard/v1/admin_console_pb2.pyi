import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from switchboard.v1 import admin_usage_pb2 as _admin_usage_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AdminRights(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADMIN_RIGHTS_UNSPECIFIED: _ClassVar[AdminRights]
    ADMIN_RIGHTS_READ_ONLY: _ClassVar[AdminRights]
    ADMIN_RIGHTS_ADMIN: _ClassVar[AdminRights]
    ADMIN_RIGHTS_MASTER: _ClassVar[AdminRights]

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BREAKER_STATE_UNSPECIFIED: _ClassVar[BreakerState]
    BREAKER_STATE_CLOSED: _ClassVar[BreakerState]
    BREAKER_STATE_OPEN: _ClassVar[BreakerState]
    BREAKER_STATE_HALF_OPEN: _ClassVar[BreakerState]
    BREAKER_STATE_OFF: _ClassVar[BreakerState]
ADMIN_RIGHTS_UNSPECIFIED: AdminRights
ADMIN_RIGHTS_READ_ONLY: AdminRights
ADMIN_RIGHTS_ADMIN: AdminRights
ADMIN_RIGHTS_MASTER: AdminRights
BREAKER_STATE_UNSPECIFIED: BreakerState
BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState
BREAKER_STATE_OFF: BreakerState

class WatchCallsRequest(_message.Message):
    __slots__ = ("key", "provider", "model", "errors_only", "confirm_start")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ERRORS_ONLY_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_START_FIELD_NUMBER: _ClassVar[int]
    key: str
    provider: str
    model: str
    errors_only: bool
    confirm_start: bool
    def __init__(self, key: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., errors_only: _Optional[bool] = ..., confirm_start: _Optional[bool] = ...) -> None: ...

class WatchCallsResponse(_message.Message):
    __slots__ = ("call",)
    CALL_FIELD_NUMBER: _ClassVar[int]
    call: CallEvent
    def __init__(self, call: _Optional[_Union[CallEvent, _Mapping]] = ...) -> None: ...

class CallEvent(_message.Message):
    __slots__ = ("request_id", "finish_time", "key", "team", "surface", "method", "requested_model", "provider", "model", "status", "error_reason", "latency", "time_to_first_token", "prompt_tokens", "completion_tokens", "cost", "cached", "downgraded", "attempts")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    DOWNGRADED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    finish_time: _timestamp_pb2.Timestamp
    key: str
    team: str
    surface: str
    method: str
    requested_model: str
    provider: str
    model: str
    status: str
    error_reason: str
    latency: _duration_pb2.Duration
    time_to_first_token: _duration_pb2.Duration
    prompt_tokens: int
    completion_tokens: int
    cost: _money_pb2.Money
    cached: bool
    downgraded: bool
    attempts: int
    def __init__(self, request_id: _Optional[str] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key: _Optional[str] = ..., team: _Optional[str] = ..., surface: _Optional[str] = ..., method: _Optional[str] = ..., requested_model: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., status: _Optional[str] = ..., error_reason: _Optional[str] = ..., latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., time_to_first_token: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., cached: _Optional[bool] = ..., downgraded: _Optional[bool] = ..., attempts: _Optional[int] = ...) -> None: ...

class GetUsageStatsRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "bucket_width", "group_by", "key", "team", "provider", "model", "max_series")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BUCKET_WIDTH_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_SERIES_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    bucket_width: _duration_pb2.Duration
    group_by: _admin_usage_pb2.UsageDimension
    key: str
    team: str
    provider: str
    model: str
    max_series: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_width: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., group_by: _Optional[_Union[_admin_usage_pb2.UsageDimension, str]] = ..., key: _Optional[str] = ..., team: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., max_series: _Optional[int] = ...) -> None: ...

class GetUsageStatsResponse(_message.Message):
    __slots__ = ("series", "start_time", "end_time", "bucket_width")
    SERIES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BUCKET_WIDTH_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[UsageSeries]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    bucket_width: _duration_pb2.Duration
    def __init__(self, series: _Optional[_Iterable[_Union[UsageSeries, _Mapping]]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket_width: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class UsageSeries(_message.Message):
    __slots__ = ("group", "buckets", "folded_groups")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    FOLDED_GROUPS_FIELD_NUMBER: _ClassVar[int]
    group: str
    buckets: _containers.RepeatedCompositeFieldContainer[UsageBucket]
    folded_groups: int
    def __init__(self, group: _Optional[str] = ..., buckets: _Optional[_Iterable[_Union[UsageBucket, _Mapping]]] = ..., folded_groups: _Optional[int] = ...) -> None: ...

class UsageBucket(_message.Message):
    __slots__ = ("start_time", "requests", "errors", "prompt_tokens", "completion_tokens", "cost", "mean_latency")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost: _money_pb2.Money
    mean_latency: _duration_pb2.Duration
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., mean_latency: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetLiveStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLiveStatsResponse(_message.Message):
    __slots__ = ("providers", "start_time", "end_time", "caller_rights")
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    CALLER_RIGHTS_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[ProviderLiveStats]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    caller_rights: AdminRights
    def __init__(self, providers: _Optional[_Iterable[_Union[ProviderLiveStats, _Mapping]]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., caller_rights: _Optional[_Union[AdminRights, str]] = ...) -> None: ...

class ProviderLiveStats(_message.Message):
    __slots__ = ("name", "attempts", "failed_attempts", "latency_p50", "latency_p95", "streams", "time_to_first_token_p50", "time_to_first_token_p95", "breaker", "serving", "degraded_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    FAILED_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_P50_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_P95_FIELD_NUMBER: _ClassVar[int]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    attempts: int
    failed_attempts: int
    latency_p50: _duration_pb2.Duration
    latency_p95: _duration_pb2.Duration
    streams: int
    time_to_first_token_p50: _duration_pb2.Duration
    time_to_first_token_p95: _duration_pb2.Duration
    breaker: BreakerState
    serving: bool
    degraded_reason: str
    def __init__(self, name: _Optional[str] = ..., attempts: _Optional[int] = ..., failed_attempts: _Optional[int] = ..., latency_p50: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., latency_p95: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., streams: _Optional[int] = ..., time_to_first_token_p50: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., time_to_first_token_p95: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., breaker: _Optional[_Union[BreakerState, str]] = ..., serving: _Optional[bool] = ..., degraded_reason: _Optional[str] = ...) -> None: ...
