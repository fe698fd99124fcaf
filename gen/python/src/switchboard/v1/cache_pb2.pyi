from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CacheControl(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_CONTROL_UNSPECIFIED: _ClassVar[CacheControl]
    CACHE_CONTROL_NO_CACHE: _ClassVar[CacheControl]
    CACHE_CONTROL_NO_STORE: _ClassVar[CacheControl]
CACHE_CONTROL_UNSPECIFIED: CacheControl
CACHE_CONTROL_NO_CACHE: CacheControl
CACHE_CONTROL_NO_STORE: CacheControl

class PurgeCacheRequest(_message.Message):
    __slots__ = ("key", "team", "model")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    key: str
    team: str
    model: str
    def __init__(self, key: _Optional[str] = ..., team: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class PurgeCacheResponse(_message.Message):
    __slots__ = ("purged_entries",)
    PURGED_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    purged_entries: int
    def __init__(self, purged_entries: _Optional[int] = ...) -> None: ...
