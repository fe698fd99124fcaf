import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StoredSecret(_message.Message):
    __slots__ = ("name", "latest_version", "version_count", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    latest_version: StoredSecretVersion
    version_count: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., latest_version: _Optional[_Union[StoredSecretVersion, _Mapping]] = ..., version_count: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StoredSecretVersion(_message.Message):
    __slots__ = ("name", "version", "fingerprint", "key_encryption_key", "create_time", "creator")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    KEY_ENCRYPTION_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    fingerprint: str
    key_encryption_key: str
    create_time: _timestamp_pb2.Timestamp
    creator: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., fingerprint: _Optional[str] = ..., key_encryption_key: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creator: _Optional[str] = ...) -> None: ...

class CreateStoredSecretRequest(_message.Message):
    __slots__ = ("secret_id", "value")
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    secret_id: str
    value: str
    def __init__(self, secret_id: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class CreateStoredSecretResponse(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: StoredSecret
    def __init__(self, secret: _Optional[_Union[StoredSecret, _Mapping]] = ...) -> None: ...

class AddStoredSecretVersionRequest(_message.Message):
    __slots__ = ("parent", "value")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    value: str
    def __init__(self, parent: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class AddStoredSecretVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: StoredSecretVersion
    def __init__(self, version: _Optional[_Union[StoredSecretVersion, _Mapping]] = ...) -> None: ...

class ListStoredSecretsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStoredSecretsResponse(_message.Message):
    __slots__ = ("secrets", "next_page_token")
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    secrets: _containers.RepeatedCompositeFieldContainer[StoredSecret]
    next_page_token: str
    def __init__(self, secrets: _Optional[_Iterable[_Union[StoredSecret, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteStoredSecretRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteStoredSecretResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RewrapStoredSecretsRequest(_message.Message):
    __slots__ = ("all",)
    ALL_FIELD_NUMBER: _ClassVar[int]
    all: bool
    def __init__(self, all: _Optional[bool] = ...) -> None: ...

class RewrapStoredSecretsResponse(_message.Message):
    __slots__ = ("key_encryption_key", "rewrapped_count", "unchanged_count", "skipped_count")
    KEY_ENCRYPTION_KEY_FIELD_NUMBER: _ClassVar[int]
    REWRAPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    key_encryption_key: str
    rewrapped_count: int
    unchanged_count: int
    skipped_count: int
    def __init__(self, key_encryption_key: _Optional[str] = ..., rewrapped_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ..., skipped_count: _Optional[int] = ...) -> None: ...
