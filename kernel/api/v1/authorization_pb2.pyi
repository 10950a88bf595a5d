from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceAttributes(_message.Message):
    __slots__ = ("verb", "group", "resource", "subresource", "namespace", "name")
    VERB_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SUBRESOURCE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str
    name: str
    def __init__(self, verb: _Optional[str] = ..., group: _Optional[str] = ..., resource: _Optional[str] = ..., subresource: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class NonResourceAttributes(_message.Message):
    __slots__ = ("verb", "path")
    VERB_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    verb: str
    path: str
    def __init__(self, verb: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class Impersonation(_message.Message):
    __slots__ = ("user", "groups")
    USER_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    user: str
    groups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., groups: _Optional[_Iterable[str]] = ...) -> None: ...

class AccessReviewRequest(_message.Message):
    __slots__ = ("resource_attributes", "non_resource_attributes", "impersonate")
    RESOURCE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    NON_RESOURCE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    IMPERSONATE_FIELD_NUMBER: _ClassVar[int]
    resource_attributes: ResourceAttributes
    non_resource_attributes: NonResourceAttributes
    impersonate: Impersonation
    def __init__(self, resource_attributes: _Optional[_Union[ResourceAttributes, _Mapping]] = ..., non_resource_attributes: _Optional[_Union[NonResourceAttributes, _Mapping]] = ..., impersonate: _Optional[_Union[Impersonation, _Mapping]] = ...) -> None: ...

class AccessReviewResponse(_message.Message):
    __slots__ = ("allowed", "reason", "user")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    reason: str
    user: str
    def __init__(self, allowed: _Optional[bool] = ..., reason: _Optional[str] = ..., user: _Optional[str] = ...) -> None: ...

class RulesReviewRequest(_message.Message):
    __slots__ = ("namespace", "impersonate")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    IMPERSONATE_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    impersonate: Impersonation
    def __init__(self, namespace: _Optional[str] = ..., impersonate: _Optional[_Union[Impersonation, _Mapping]] = ...) -> None: ...

class ReviewRule(_message.Message):
    __slots__ = ("verbs", "api_groups", "resources", "resource_names", "non_resource_urls")
    VERBS_FIELD_NUMBER: _ClassVar[int]
    API_GROUPS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAMES_FIELD_NUMBER: _ClassVar[int]
    NON_RESOURCE_URLS_FIELD_NUMBER: _ClassVar[int]
    verbs: _containers.RepeatedScalarFieldContainer[str]
    api_groups: _containers.RepeatedScalarFieldContainer[str]
    resources: _containers.RepeatedScalarFieldContainer[str]
    resource_names: _containers.RepeatedScalarFieldContainer[str]
    non_resource_urls: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, verbs: _Optional[_Iterable[str]] = ..., api_groups: _Optional[_Iterable[str]] = ..., resources: _Optional[_Iterable[str]] = ..., resource_names: _Optional[_Iterable[str]] = ..., non_resource_urls: _Optional[_Iterable[str]] = ...) -> None: ...

class RulesReviewResponse(_message.Message):
    __slots__ = ("rules", "user")
    RULES_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    rules: _containers.RepeatedCompositeFieldContainer[ReviewRule]
    user: str
    def __init__(self, rules: _Optional[_Iterable[_Union[ReviewRule, _Mapping]]] = ..., user: _Optional[str] = ...) -> None: ...
