"""tests.requirements: a missing tool skips its tests on a laptop and fails
them under SHOAL_E2E_REQUIRE_ENGINES=1 (CI)."""

from __future__ import annotations

import pathlib
import re

import pytest

from tests.requirements import REQUIRE_ENV, require, require_binary, require_module

ABSENT = "shoal-no-such-tool-3f9a"


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)


@pytest.fixture
def ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")


@pytest.mark.usefixtures("laptop")
def test_missing_tool_skips_saying_why() -> None:
    with pytest.raises(pytest.skip.Exception, match="etcd: is not installed"):
        require("etcd", "is not installed")


@pytest.mark.usefixtures("ci")
def test_missing_tool_fails_when_required() -> None:
    with pytest.raises(pytest.fail.Exception, match=f"etcd: is not installed .*{REQUIRE_ENV}=1"):
        require("etcd", "is not installed")


@pytest.mark.parametrize("env", ["laptop", "ci"])
def test_present_tool_goes_on(env: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(env)
    require("etcd", None)
    assert require_binary("sh").endswith("/sh")
    assert require_module("json").__name__ == "json"


def test_only_1_means_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "0")
    with pytest.raises(pytest.skip.Exception):
        require("etcd", "is not installed")


@pytest.mark.usefixtures("laptop")
def test_binary_and_module_skip_when_absent() -> None:
    with pytest.raises(pytest.skip.Exception, match=f"{ABSENT}: is not installed"):
        require_binary(ABSENT)
    with pytest.raises(pytest.skip.Exception, match=f"the {ABSENT.replace('-', '_')} Python"):
        require_module(ABSENT.replace("-", "_"))


@pytest.mark.usefixtures("ci")
def test_binary_and_module_fail_when_required() -> None:
    with pytest.raises(pytest.fail.Exception, match=ABSENT):
        require_binary(ABSENT)
    with pytest.raises(pytest.fail.Exception, match=ABSENT.replace("-", "_")):
        require_module(ABSENT.replace("-", "_"))


def test_every_skip_goes_through_the_helper() -> None:
    """A skip of its own would let CI pass without the tool."""
    tests = pathlib.Path(__file__).resolve().parents[1]
    helper = tests / "requirements.py"
    own_skips = re.compile(r"pytest\.skip\(|importorskip\(|mark\.skipif\(|mark\.skip\(")
    offenders = [
        f"{path.relative_to(tests)}:{n}"
        for path in sorted(tests.rglob("*.py"))
        if path not in (helper, pathlib.Path(__file__).resolve())
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if own_skips.search(line)
    ]
    assert not offenders, f"use tests.requirements.require instead: {offenders}"
