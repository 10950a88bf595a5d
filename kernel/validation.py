"""Validation of names, label keys and values, and annotations.

Each function returns a list of error strings (empty when valid), worded as
Kubernetes' ``apimachinery/pkg/util/validation`` words them, so a user who
searches for a message finds the Kubernetes explanation. (Kubernetes puts two
spaces between its examples, a slip this copy does not repeat.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
QUALIFIED_NAME_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"

_DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)


def _full(fmt: str) -> re.Pattern[str]:
    return re.compile(fmt + r"\Z")  # \Z, not $: "$" would accept a trailing newline


_DNS1123_LABEL_RE = _full(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = _full(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_RE = _full(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = _full(_LABEL_VALUE_FMT)


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """Kubernetes' ``RegexError``: the rule, examples, and the regex itself."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}'," for example in examples)
    return f"{message} (e.g. {shown} regex used for validation is '{fmt}')"


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def validate_dns1123_label(value: str) -> list[str]:
    """A name such as a namespace's or a container's: ``my-name``."""
    errors = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errors.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL_RE.match(value):
        errors.append(regex_error(_DNS1123_LABEL_MSG, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errors


def validate_dns1123_subdomain(value: str) -> list[str]:
    """Most object names: ``example.com``."""
    errors = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errors.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.match(value):
        errors.append(regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def validate_qualified_name(value: str) -> list[str]:
    """``[prefix/]name``: the prefix a DNS-1123 subdomain, the name at most
    63 characters of ``[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]``."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        errors: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errors = ["prefix part must be non-empty"]
        else:
            errors = [f"prefix part {e}" for e in validate_dns1123_subdomain(prefix)]
    else:
        example = " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        return ["a qualified name " + _qualified_name_regex_error() + example]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errors.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if name and not _QUALIFIED_NAME_RE.match(name):
        errors.append("name part " + _qualified_name_regex_error())
    return errors


def _qualified_name_regex_error() -> str:
    return regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")


def validate_label_key(value: str) -> list[str]:
    """A label (or annotation) key is a qualified name."""
    return validate_qualified_name(value)


def validate_label_value(value: str) -> list[str]:
    """At most 63 characters, may be empty."""
    errors = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        errors.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _LABEL_VALUE_RE.match(value):
        errors.append(
            regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errors


def invalid(path: str, value: str, message: str) -> str:
    """Kubernetes' ``field.Invalid`` rendering."""
    return f'{path}: Invalid value: "{value}": {message}'


def label_problems(labels: Mapping[str, str]) -> list[str]:
    """What is wrong with a label map, as field.Error details without the
    field path (`Invalid value: "x": must be ...`): a Status cause's message."""
    errors = []
    for key, value in labels.items():
        errors += [f'Invalid value: "{key}": {e}' for e in validate_label_key(key)]
        errors += [f'Invalid value: "{value}": {e}' for e in validate_label_value(value)]
    return errors


def validate_labels(labels: Mapping[str, str], path: str = "metadata.labels") -> list[str]:
    return [f"{path}: {problem}" for problem in label_problems(labels)]


def annotation_problems(annotations: Mapping[str, str]) -> list[str]:
    """Keys as label keys (case-insensitively); values anything, but all
    keys and values together at most 256 KiB, as the store keeps them inline.
    Without the field path, as :func:`label_problems`."""
    errors = []
    total = 0
    for key, value in annotations.items():
        errors += [f'Invalid value: "{key}": {e}' for e in validate_qualified_name(key.lower())]
        total += len(key.encode()) + len(value.encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errors.append(f"Too long: must have at most {TOTAL_ANNOTATION_SIZE_LIMIT} bytes")
    return errors


def validate_annotations(
    annotations: Mapping[str, str], path: str = "metadata.annotations"
) -> list[str]:
    return [f"{path}: {problem}" for problem in annotation_problems(annotations)]
