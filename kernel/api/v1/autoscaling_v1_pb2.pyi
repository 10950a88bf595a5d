import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shoal.api.v1 import autoscaling_pb2 as _autoscaling_pb2
from shoal.api.v1 import meta_pb2 as _meta_pb2
from shoal.api.v1 import options_pb2 as _options_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HorizontalPodAutoscalerV1(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _meta_pb2.ObjectMeta
    spec: HorizontalPodAutoscalerSpecV1
    status: HorizontalPodAutoscalerStatusV1
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_meta_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[HorizontalPodAutoscalerSpecV1, _Mapping]] = ..., status: _Optional[_Union[HorizontalPodAutoscalerStatusV1, _Mapping]] = ...) -> None: ...

class HorizontalPodAutoscalerSpecV1(_message.Message):
    __slots__ = ("scale_target_ref", "min_replicas", "max_replicas", "target_cpu_utilization_percentage")
    SCALE_TARGET_REF_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    TARGET_CPU_UTILIZATION_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    scale_target_ref: _autoscaling_pb2.CrossVersionObjectReference
    min_replicas: int
    max_replicas: int
    target_cpu_utilization_percentage: int
    def __init__(self, scale_target_ref: _Optional[_Union[_autoscaling_pb2.CrossVersionObjectReference, _Mapping]] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ..., target_cpu_utilization_percentage: _Optional[int] = ...) -> None: ...

class HorizontalPodAutoscalerStatusV1(_message.Message):
    __slots__ = ("observed_generation", "last_scale_time", "current_replicas", "desired_replicas", "current_cpu_utilization_percentage")
    OBSERVED_GENERATION_FIELD_NUMBER: _ClassVar[int]
    LAST_SCALE_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    DESIRED_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CPU_UTILIZATION_PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    observed_generation: int
    last_scale_time: _timestamp_pb2.Timestamp
    current_replicas: int
    desired_replicas: int
    current_cpu_utilization_percentage: int
    def __init__(self, observed_generation: _Optional[int] = ..., last_scale_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current_replicas: _Optional[int] = ..., desired_replicas: _Optional[int] = ..., current_cpu_utilization_percentage: _Optional[int] = ...) -> None: ...
