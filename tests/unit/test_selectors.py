"""Label and field selectors, and name validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shoal.api.v1 import meta_pb2
from shoal.selectors import (
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    label_selector_from_map,
    label_selector_from_proto,
    parse_field_selector,
    parse_label_selector,
)
from shoal.validation import (
    validate_annotations,
    validate_dns1123_label,
    validate_dns1123_subdomain,
    validate_label_key,
    validate_label_value,
    validate_labels,
)

WEB = {"app": "web", "tier": "front", "env": "prod"}

# (selector, canonical rendering, matches WEB, matches {})
PARSE_AND_MATCH = [
    ("", "", True, True),
    ("   ", "", True, True),
    ("app=web", "app=web", True, False),
    ("app==web", "app=web", True, False),
    ("app = web", "app=web", True, False),
    ("app=db", "app=db", False, False),
    ("app!=db", "app!=db", True, True),
    ("app!=web", "app!=web", False, True),
    ("tier in (front,back)", "tier in (back,front)", True, False),
    ("tier in ( front , back )", "tier in (back,front)", True, False),
    ("tier in(back)", "tier in (back)", False, False),
    ("tier notin (back)", "tier notin (back)", True, True),
    ("tier notin (front, back)", "tier notin (back,front)", False, True),
    ("app", "app", True, False),
    ("!app", "!app", False, True),
    ("! canary", "!canary", True, True),
    ("env in (prod,), app", "app,env in (,prod)", True, False),
    ("tier in (front),app=web,!canary", "app=web,!canary,tier in (front)", True, False),
    ("example.com/owner", "example.com/owner", False, False),
    ("app=", "app=", False, False),
    ("version in (v1, v1)", "version in (v1)", False, False),
    ("app in ()", "app in ()", False, False),  # the set holding "", as in Kubernetes
]


@pytest.mark.parametrize(("text", "canonical", "web", "empty"), PARSE_AND_MATCH)
def test_parse_and_match(text: str, canonical: str, web: bool, empty: bool) -> None:
    selector = parse_label_selector(text)
    assert str(selector) == canonical
    assert selector.matches(WEB) is web
    assert selector.matches({}) is empty
    assert selector.is_empty() is (canonical == "")
    assert parse_label_selector(str(selector)) == selector


KEY_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)

PARSE_ERRORS = [
    ("a in x", 'unable to parse requirement: "a in x": values must be in parentheses'),
    ("a notin x,y", 'unable to parse requirement: "a notin x": values must be in parentheses'),
    ("a in (x", "unable to parse requirement: \"a in (x\": missing ')' after values"),
    ("a=b,", 'unable to parse requirement: "": empty requirement (a stray comma?)'),
    (",a=b", 'unable to parse requirement: "": empty requirement (a stray comma?)'),
    (
        "=b",
        "unable to parse requirement: \"=b\": invalid label key '': name part must be non-empty",
    ),
    ("a b", f"unable to parse requirement: \"a b\": invalid label key 'a b': {KEY_RULE}"),
    ("-a=b", f"unable to parse requirement: \"-a=b\": invalid label key '-a': {KEY_RULE}"),
    ("a=" + "x" * 64, "must be no more than 63 characters"),
    ("a=b=c", "invalid label value 'b=c': a valid label must be an empty string or consist"),
    ("/a", "unable to parse requirement: \"/a\": invalid label key '/a': prefix part must be "),
    ("Example.com/a", "prefix part a lowercase RFC 1123 subdomain must consist of"),
    ("a/b/c", "a qualified name must consist of alphanumeric characters"),
]


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_label_selector(text)
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)
    if message.startswith("unable"):
        assert str(info.value).startswith(message)


def test_empty_parentheses_hold_the_empty_value() -> None:
    assert parse_label_selector("app in ()").matches({"app": ""})


def test_from_map() -> None:
    selector = label_selector_from_map({"tier": "front", "app": "web"})
    assert str(selector) == "app=web,tier=front"
    assert selector.matches(WEB)
    assert not selector.matches({"app": "web"})
    assert label_selector_from_map({}).is_empty()
    with pytest.raises(SelectorError, match="invalid label value 'a b'"):
        label_selector_from_map({"app": "a b"})


def expression(key: str, operator: str, *values: str) -> meta_pb2.LabelSelectorRequirement:
    return meta_pb2.LabelSelectorRequirement(key=key, operator=operator, values=values)


def test_from_proto() -> None:
    message = meta_pb2.LabelSelector(
        match_labels={"app": "web"},
        match_expressions=[
            expression("tier", "In", "front", "back"),
            expression("env", "NotIn", "dev"),
            expression("env", "Exists"),
            expression("canary", "DoesNotExist"),
        ],
    )
    selector = label_selector_from_proto(message)
    assert str(selector) == "app=web,!canary,env,env notin (dev),tier in (back,front)"
    assert selector.matches(WEB)
    assert label_selector_from_proto(meta_pb2.LabelSelector()).is_empty()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (expression("a", "Equals", "b"), '"Equals" is not a valid label selector operator'),
        (expression("a", "In"), "for 'in' operator, values set can't be empty"),
        (expression("a", "Exists", "b"), "values set must be empty for exists and does not exist"),
        (expression("a b", "Exists"), "invalid label key 'a b'"),
    ],
)
def test_from_proto_errors(bad: meta_pb2.LabelSelectorRequirement, message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        label_selector_from_proto(meta_pb2.LabelSelector(match_expressions=[bad]))


# --- field selectors -----------------------------------------------------------

POD_FIELDS = ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase")


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("", {}, True),
        ("spec.nodeName=node-1", {"spec.nodeName": "node-1"}, True),
        ("spec.nodeName==node-1", {"spec.nodeName": "node-2"}, False),
        ("spec.nodeName=", {}, True),  # unscheduled pods
        ("spec.nodeName=", {"spec.nodeName": "node-1"}, False),
        ("status.phase!=Running", {"status.phase": "Pending"}, True),
        ("status.phase != Running , spec.nodeName = n", {"status.phase": "Failed"}, False),
    ],
)
def test_field_selector(text: str, fields: dict[str, str], expected: bool) -> None:
    selector = parse_field_selector(text, POD_FIELDS)
    assert selector.matches(fields) is expected
    assert parse_field_selector(str(selector), POD_FIELDS) == selector


def test_field_selector_exact_match() -> None:
    selector = parse_field_selector("status.phase!=Failed,spec.nodeName=n1", POD_FIELDS)
    assert selector.requires_exact_match("spec.nodeName") == "n1"
    assert selector.requires_exact_match("status.phase") is None
    assert str(selector) == "spec.nodeName=n1,status.phase!=Failed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec.foo=x", "field label not supported: spec.foo"),
        ("spec.nodeName", "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'"),
        (
            "spec.nodeName=b,=c",
            "invalid selector: 'spec.nodeName=b,=c'; can't understand '=c'",
        ),
        ("spec.nodeName in (a)", "invalid selector: 'spec.nodeName in (a)'; can't understand"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        parse_field_selector(text, POD_FIELDS)
    assert str(info.value).startswith(message)


# --- validation -------------------------------------------------------------------

SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


@pytest.mark.parametrize("name", ["a", "web-1", "example.com", "1.2.3", "a" * 253])
def test_valid_subdomains(name: str) -> None:
    assert validate_dns1123_subdomain(name) == []


@pytest.mark.parametrize("name", ["", "Web", "-a", "a-", "a..b", "a_b", "a\n"])
def test_invalid_subdomains(name: str) -> None:
    assert validate_dns1123_subdomain(name) == [SUBDOMAIN_RULE]


def test_subdomain_too_long() -> None:
    assert validate_dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]


def test_dns1123_label() -> None:
    assert validate_dns1123_label("my-name") == []
    assert validate_dns1123_label("a.b") == [LABEL_RULE]
    assert validate_dns1123_label("A" * 64) == ["must be no more than 63 characters", LABEL_RULE]


def test_label_keys_and_values() -> None:
    assert validate_label_key("app.kubernetes.io/name") == []
    assert validate_label_key("My_Key.1") == []
    assert validate_label_key("a" * 64) == ["name part must be no more than 63 characters"]
    assert validate_label_key("example.com/") == ["name part must be non-empty"]
    assert validate_label_value("") == []
    assert validate_label_value("v1.2_3-a") == []
    assert validate_label_value("a" * 64) == ["must be no more than 63 characters"]
    assert validate_label_value("a b")[0].startswith("a valid label must be an empty string")


def test_validate_labels_and_annotations() -> None:
    assert validate_labels({"app": "web"}) == []
    errors = validate_labels({"bad key": "ok", "ok": "bad value"})
    assert errors[0].startswith('metadata.labels: Invalid value: "bad key": name part must')
    assert errors[1].startswith('metadata.labels: Invalid value: "bad value": a valid label')
    assert validate_annotations({"Example.COM/Anything": "any value at all\n"}) == []
    big = {"a": "x" * (256 * 1024)}
    assert validate_annotations(big) == [
        "metadata.annotations: Too long: must have at most 262144 bytes"
    ]


# --- properties -------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?", fullmatch=True)
PREFIXES = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}", fullmatch=True)
KEYS = st.one_of(NAMES, st.builds(lambda p, n: f"{p}/{n}", PREFIXES, NAMES))
VALUES = st.one_of(st.just(""), NAMES)


@st.composite
def requirements(draw: st.DrawFn, keys: st.SearchStrategy[str] = KEYS) -> Requirement:
    operator = draw(st.sampled_from(list(Operator)))
    if operator in (Operator.IN, Operator.NOT_IN):
        values = draw(st.lists(VALUES, min_size=1, max_size=3))
    elif operator in (Operator.EQUALS, Operator.NOT_EQUALS):
        values = [draw(VALUES)]
    else:
        values = []
    return Requirement(draw(keys), operator, tuple(values))


def selectors(keys: st.SearchStrategy[str] = KEYS) -> st.SearchStrategy[LabelSelector]:
    return st.lists(requirements(keys), max_size=4).map(lambda rs: LabelSelector(tuple(rs)))


@given(selectors())
def test_render_then_parse_is_identity(selector: LabelSelector) -> None:
    assert parse_label_selector(str(selector)) == selector


def reference_match(selector: LabelSelector, labels: dict[str, str]) -> bool:
    for r in selector.requirements:
        has, value = r.key in labels, labels.get(r.key)
        if r.operator == "exists" and not has:
            return False
        if r.operator == "!" and has:
            return False
        if r.operator in ("=", "in") and (not has or value not in r.values):
            return False
        if r.operator in ("!=", "notin") and has and value in r.values:
            return False
    return True


# Few keys and values, so selectors and label sets actually overlap.
SMALL_KEYS = st.sampled_from(["app", "tier", "example.com/env"])
SMALL_LABELS = st.dictionaries(SMALL_KEYS, st.sampled_from(["", "web", "db", "v1"]))


@given(selectors(SMALL_KEYS), SMALL_LABELS)
def test_matching_agrees_with_reference(selector: LabelSelector, labels: dict[str, str]) -> None:
    assert selector.matches(labels) == reference_match(selector, labels)
    assert parse_label_selector(str(selector)).matches(labels) == reference_match(selector, labels)
