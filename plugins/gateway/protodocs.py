"""The comments of proto/, as descriptions for the OpenAPI documents.

Generated protobuf Python code carries no comments, so ``make proto`` also
writes ``shoal/api/v1/descriptors.binpb``: a FileDescriptorSet with source
info (committed and packaged, checked by ``make proto-check``). This module
reads the comment above each message, field and enum value from it, keyed by
the element's protobuf full name ("shoal.v1.Pod", "shoal.v1.Container.image").
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from importlib import resources

import structlog
from google.protobuf import descriptor_pb2

log = structlog.get_logger("gateway")
DESCRIPTORS = "descriptors.binpb"
# field numbers in descriptor.proto, the steps of a SourceCodeInfo location path
FILE_MESSAGE = 4
MESSAGE_FIELD = 2
MESSAGE_NESTED = 3
MESSAGE_ENUM = 4
FILE_ENUM = 5
ENUM_VALUE = 2


@functools.cache
def comments() -> dict[str, str]:
    """Full name -> description, for every commented element of proto/."""
    try:
        data = resources.files("shoal.api.v1").joinpath(DESCRIPTORS).read_bytes()
    except FileNotFoundError:  # a broken install: schemas without descriptions beat none
        log.warning("no descriptor set: OpenAPI schemas go without descriptions", file=DESCRIPTORS)
        return {}
    found: dict[str, str] = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(data).file:
        names = dict(_names(file))
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            text = location.leading_comments or location.trailing_comments
            if name and text.strip():
                found[name] = description(text)
    return found


def description(comment: str) -> str:
    """A comment as Kubernetes writes descriptions: the lines of a paragraph
    joined by spaces, paragraphs apart by a blank line."""
    paragraphs: list[list[str]] = [[]]
    for line in comment.splitlines():
        stripped = line.strip()
        if stripped:
            paragraphs[-1].append(stripped)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _names(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[tuple[int, ...], str]]:
    """(source path, full name) of every message, field, enum and enum value."""
    prefix = f"{file.package}." if file.package else ""
    for i, message in enumerate(file.message_type):
        yield from _message(message, (FILE_MESSAGE, i), prefix)
    for i, enum in enumerate(file.enum_type):
        yield from _enum(enum, (FILE_ENUM, i), prefix)


def _message(
    message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], prefix: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    name = prefix + message.name
    yield path, name
    for i, field in enumerate(message.field):
        yield (*path, MESSAGE_FIELD, i), f"{name}.{field.name}"
    for i, nested in enumerate(message.nested_type):
        yield from _message(nested, (*path, MESSAGE_NESTED, i), f"{name}.")
    for i, enum in enumerate(message.enum_type):
        yield from _enum(enum, (*path, MESSAGE_ENUM, i), f"{name}.")


def _enum(
    enum: descriptor_pb2.EnumDescriptorProto, path: Sequence[int], prefix: str
) -> Iterator[tuple[tuple[int, ...], str]]:
    yield tuple(path), prefix + enum.name
    for i, value in enumerate(enum.value):
        # enum values are scoped like siblings of their enum, as in protobuf
        yield (*path, ENUM_VALUE, i), prefix + value.name
