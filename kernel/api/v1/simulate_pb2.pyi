from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SimulateRequest(_message.Message):
    __slots__ = ("manifests", "nodes", "node_cpu", "node_memory", "kill_nodes", "drain_nodes", "duration", "from_cluster")
    MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    NODE_CPU_FIELD_NUMBER: _ClassVar[int]
    NODE_MEMORY_FIELD_NUMBER: _ClassVar[int]
    KILL_NODES_FIELD_NUMBER: _ClassVar[int]
    DRAIN_NODES_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    FROM_CLUSTER_FIELD_NUMBER: _ClassVar[int]
    manifests: str
    nodes: int
    node_cpu: str
    node_memory: str
    kill_nodes: _containers.RepeatedScalarFieldContainer[str]
    drain_nodes: _containers.RepeatedScalarFieldContainer[str]
    duration: str
    from_cluster: bool
    def __init__(self, manifests: _Optional[str] = ..., nodes: _Optional[int] = ..., node_cpu: _Optional[str] = ..., node_memory: _Optional[str] = ..., kill_nodes: _Optional[_Iterable[str]] = ..., drain_nodes: _Optional[_Iterable[str]] = ..., duration: _Optional[str] = ..., from_cluster: _Optional[bool] = ...) -> None: ...

class SimulateResponse(_message.Message):
    __slots__ = ("report_json",)
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    report_json: str
    def __init__(self, report_json: _Optional[str] = ...) -> None: ...
