import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CredentialState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDENTIAL_STATE_UNSPECIFIED: _ClassVar[CredentialState]
    CREDENTIAL_STATE_ACTIVE: _ClassVar[CredentialState]
    CREDENTIAL_STATE_STANDBY: _ClassVar[CredentialState]
    CREDENTIAL_STATE_COOLING_DOWN: _ClassVar[CredentialState]
    CREDENTIAL_STATE_DISABLED: _ClassVar[CredentialState]
    CREDENTIAL_STATE_DRAINING: _ClassVar[CredentialState]
    CREDENTIAL_STATE_RETIRED: _ClassVar[CredentialState]
CREDENTIAL_STATE_UNSPECIFIED: CredentialState
CREDENTIAL_STATE_ACTIVE: CredentialState
CREDENTIAL_STATE_STANDBY: CredentialState
CREDENTIAL_STATE_COOLING_DOWN: CredentialState
CREDENTIAL_STATE_DISABLED: CredentialState
CREDENTIAL_STATE_DRAINING: CredentialState
CREDENTIAL_STATE_RETIRED: CredentialState

class Provider(_message.Message):
    __slots__ = ("name", "dialect", "credentials")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIALECT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    name: str
    dialect: str
    credentials: _containers.RepeatedCompositeFieldContainer[ProviderCredential]
    def __init__(self, name: _Optional[str] = ..., dialect: _Optional[str] = ..., credentials: _Optional[_Iterable[_Union[ProviderCredential, _Mapping]]] = ...) -> None: ...

class ProviderCredential(_message.Message):
    __slots__ = ("name", "fingerprint", "state", "state_reason", "state_time", "next_transition_time", "weight", "traffic_share", "recent_successes", "recent_errors", "secret_ref", "version", "canary")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_TIME_FIELD_NUMBER: _ClassVar[int]
    NEXT_TRANSITION_TIME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_SHARE_FIELD_NUMBER: _ClassVar[int]
    RECENT_SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    RECENT_ERRORS_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    name: str
    fingerprint: str
    state: CredentialState
    state_reason: str
    state_time: _timestamp_pb2.Timestamp
    next_transition_time: _timestamp_pb2.Timestamp
    weight: float
    traffic_share: float
    recent_successes: int
    recent_errors: int
    secret_ref: str
    version: int
    canary: CanaryProgress
    def __init__(self, name: _Optional[str] = ..., fingerprint: _Optional[str] = ..., state: _Optional[_Union[CredentialState, str]] = ..., state_reason: _Optional[str] = ..., state_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_transition_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., weight: _Optional[float] = ..., traffic_share: _Optional[float] = ..., recent_successes: _Optional[int] = ..., recent_errors: _Optional[int] = ..., secret_ref: _Optional[str] = ..., version: _Optional[int] = ..., canary: _Optional[_Union[CanaryProgress, _Mapping]] = ...) -> None: ...

class CanaryProgress(_message.Message):
    __slots__ = ("traffic_share", "successes", "errors", "promote_after", "active_error_rate", "replaces", "stage_time")
    TRAFFIC_SHARE_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    PROMOTE_AFTER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    REPLACES_FIELD_NUMBER: _ClassVar[int]
    STAGE_TIME_FIELD_NUMBER: _ClassVar[int]
    traffic_share: float
    successes: int
    errors: int
    promote_after: int
    active_error_rate: float
    replaces: str
    stage_time: _timestamp_pb2.Timestamp
    def __init__(self, traffic_share: _Optional[float] = ..., successes: _Optional[int] = ..., errors: _Optional[int] = ..., promote_after: _Optional[int] = ..., active_error_rate: _Optional[float] = ..., replaces: _Optional[str] = ..., stage_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ("providers", "next_page_token")
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[Provider]
    next_page_token: str
    def __init__(self, providers: _Optional[_Iterable[_Union[Provider, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StageKeyRequest(_message.Message):
    __slots__ = ("parent", "credential_id", "secret_ref", "secondary_ref", "replaces", "weight", "traffic_share", "promote_after")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_ID_FIELD_NUMBER: _ClassVar[int]
    SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    SECONDARY_REF_FIELD_NUMBER: _ClassVar[int]
    REPLACES_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    TRAFFIC_SHARE_FIELD_NUMBER: _ClassVar[int]
    PROMOTE_AFTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    credential_id: str
    secret_ref: str
    secondary_ref: str
    replaces: str
    weight: float
    traffic_share: float
    promote_after: int
    def __init__(self, parent: _Optional[str] = ..., credential_id: _Optional[str] = ..., secret_ref: _Optional[str] = ..., secondary_ref: _Optional[str] = ..., replaces: _Optional[str] = ..., weight: _Optional[float] = ..., traffic_share: _Optional[float] = ..., promote_after: _Optional[int] = ...) -> None: ...

class StageKeyResponse(_message.Message):
    __slots__ = ("credential",)
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    credential: ProviderCredential
    def __init__(self, credential: _Optional[_Union[ProviderCredential, _Mapping]] = ...) -> None: ...

class PromoteKeyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class PromoteKeyResponse(_message.Message):
    __slots__ = ("credential", "replaced")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    credential: ProviderCredential
    replaced: ProviderCredential
    def __init__(self, credential: _Optional[_Union[ProviderCredential, _Mapping]] = ..., replaced: _Optional[_Union[ProviderCredential, _Mapping]] = ...) -> None: ...

class RollbackKeyRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackKeyResponse(_message.Message):
    __slots__ = ("credential",)
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    credential: ProviderCredential
    def __init__(self, credential: _Optional[_Union[ProviderCredential, _Mapping]] = ...) -> None: ...

class DisableKeyRequest(_message.Message):
    __slots__ = ("name", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DisableKeyResponse(_message.Message):
    __slots__ = ("credential",)
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    credential: ProviderCredential
    def __init__(self, credential: _Optional[_Union[ProviderCredential, _Mapping]] = ...) -> None: ...
