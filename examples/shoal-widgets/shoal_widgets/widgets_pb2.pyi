from shoal.api.v1 import meta_pb2 as _meta_pb2
from shoal.api.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Widget(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: WidgetSpec
    status: WidgetStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[WidgetSpec, _Mapping]] = ..., status: _Optional[_Union[WidgetStatus, _Mapping]] = ...) -> None: ...

class WidgetSpec(_message.Message):
    __slots__ = ("size", "colour")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    size: int
    colour: str
    def __init__(self, size: _Optional[int] = ..., colour: _Optional[str] = ...) -> None: ...

class WidgetStatus(_message.Message):
    __slots__ = ("size", "phase", "observed_generation", "selector")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    size: int
    phase: str
    observed_generation: int
    selector: str
    def __init__(self, size: _Optional[int] = ..., phase: _Optional[str] = ..., observed_generation: _Optional[int] = ..., selector: _Optional[str] = ...) -> None: ...
