import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GatewayKeyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GATEWAY_KEY_STATE_UNSPECIFIED: _ClassVar[GatewayKeyState]
    GATEWAY_KEY_STATE_ACTIVE: _ClassVar[GatewayKeyState]
    GATEWAY_KEY_STATE_EXPIRED: _ClassVar[GatewayKeyState]
    GATEWAY_KEY_STATE_REVOKED: _ClassVar[GatewayKeyState]

class BudgetPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_PERIOD_UNSPECIFIED: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_DAY: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_WEEK: _ClassVar[BudgetPeriod]
    BUDGET_PERIOD_MONTH: _ClassVar[BudgetPeriod]

class BudgetExhaustedAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUDGET_EXHAUSTED_ACTION_UNSPECIFIED: _ClassVar[BudgetExhaustedAction]
    BUDGET_EXHAUSTED_ACTION_REFUSE: _ClassVar[BudgetExhaustedAction]
    BUDGET_EXHAUSTED_ACTION_ECONOMY_ONLY: _ClassVar[BudgetExhaustedAction]
GATEWAY_KEY_STATE_UNSPECIFIED: GatewayKeyState
GATEWAY_KEY_STATE_ACTIVE: GatewayKeyState
GATEWAY_KEY_STATE_EXPIRED: GatewayKeyState
GATEWAY_KEY_STATE_REVOKED: GatewayKeyState
BUDGET_PERIOD_UNSPECIFIED: BudgetPeriod
BUDGET_PERIOD_DAY: BudgetPeriod
BUDGET_PERIOD_WEEK: BudgetPeriod
BUDGET_PERIOD_MONTH: BudgetPeriod
BUDGET_EXHAUSTED_ACTION_UNSPECIFIED: BudgetExhaustedAction
BUDGET_EXHAUSTED_ACTION_REFUSE: BudgetExhaustedAction
BUDGET_EXHAUSTED_ACTION_ECONOMY_ONLY: BudgetExhaustedAction

class GatewayKey(_message.Message):
    __slots__ = ("name", "display_name", "team", "allowed_models", "admin", "requests_per_minute", "tokens_per_minute", "budget", "economy_models", "expire_time", "ttl", "create_time", "update_time", "revoke_time", "state", "key_hint", "budget_status", "admin_read_only")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_MODELS_FIELD_NUMBER: _ClassVar[int]
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    ECONOMY_MODELS_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    KEY_HINT_FIELD_NUMBER: _ClassVar[int]
    BUDGET_STATUS_FIELD_NUMBER: _ClassVar[int]
    ADMIN_READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    team: str
    allowed_models: _containers.RepeatedScalarFieldContainer[str]
    admin: bool
    requests_per_minute: int
    tokens_per_minute: int
    budget: Budget
    economy_models: _containers.RepeatedCompositeFieldContainer[EconomyMapping]
    expire_time: _timestamp_pb2.Timestamp
    ttl: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    state: GatewayKeyState
    key_hint: str
    budget_status: BudgetStatus
    admin_read_only: bool
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., team: _Optional[str] = ..., allowed_models: _Optional[_Iterable[str]] = ..., admin: _Optional[bool] = ..., requests_per_minute: _Optional[int] = ..., tokens_per_minute: _Optional[int] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., economy_models: _Optional[_Iterable[_Union[EconomyMapping, _Mapping]]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[GatewayKeyState, str]] = ..., key_hint: _Optional[str] = ..., budget_status: _Optional[_Union[BudgetStatus, _Mapping]] = ..., admin_read_only: _Optional[bool] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("limit", "period", "soft_threshold", "when_exhausted")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    SOFT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    WHEN_EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    limit: _money_pb2.Money
    period: BudgetPeriod
    soft_threshold: float
    when_exhausted: BudgetExhaustedAction
    def __init__(self, limit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., period: _Optional[_Union[BudgetPeriod, str]] = ..., soft_threshold: _Optional[float] = ..., when_exhausted: _Optional[_Union[BudgetExhaustedAction, str]] = ...) -> None: ...

class EconomyMapping(_message.Message):
    __slots__ = ("model", "economy_model")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ECONOMY_MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    economy_model: str
    def __init__(self, model: _Optional[str] = ..., economy_model: _Optional[str] = ...) -> None: ...

class BudgetStatus(_message.Message):
    __slots__ = ("spent", "limit", "period_start_time", "period_end_time", "economy", "exhausted")
    SPENT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_TIME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_TIME_FIELD_NUMBER: _ClassVar[int]
    ECONOMY_FIELD_NUMBER: _ClassVar[int]
    EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    spent: _money_pb2.Money
    limit: _money_pb2.Money
    period_start_time: _timestamp_pb2.Timestamp
    period_end_time: _timestamp_pb2.Timestamp
    economy: bool
    exhausted: bool
    def __init__(self, spent: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., limit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., period_start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., economy: _Optional[bool] = ..., exhausted: _Optional[bool] = ...) -> None: ...

class CreateKeyRequest(_message.Message):
    __slots__ = ("key", "key_id")
    KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key: GatewayKey
    key_id: str
    def __init__(self, key: _Optional[_Union[GatewayKey, _Mapping]] = ..., key_id: _Optional[str] = ...) -> None: ...

class CreateKeyResponse(_message.Message):
    __slots__ = ("key", "secret")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    key: GatewayKey
    secret: str
    def __init__(self, key: _Optional[_Union[GatewayKey, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class GetKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: GatewayKey
    def __init__(self, key: _Optional[_Union[GatewayKey, _Mapping]] = ...) -> None: ...

class ListKeysRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListKeysResponse(_message.Message):
    __slots__ = ("keys", "next_page_token")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[GatewayKey]
    next_page_token: str
    def __init__(self, keys: _Optional[_Iterable[_Union[GatewayKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateKeyRequest(_message.Message):
    __slots__ = ("key", "update_mask")
    KEY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    key: GatewayKey
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, key: _Optional[_Union[GatewayKey, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: GatewayKey
    def __init__(self, key: _Optional[_Union[GatewayKey, _Mapping]] = ...) -> None: ...

class RevokeKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RevokeKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: GatewayKey
    def __init__(self, key: _Optional[_Union[GatewayKey, _Mapping]] = ...) -> None: ...
