"""Every duration flag reads Go's duration syntax and plain seconds (issue 12)."""

from __future__ import annotations

from typing import Any

import click
import pytest
from shoal.ctl.duration import Duration, DurationError, parse_duration
from shoal.ctl.main import _register, cli

from tests.ctl.conftest import Shoal

# Flags that mean a span of time but, as in kubectl, count whole seconds.
INTEGER_SECONDS = {("delete", "--grace-period"), ("drain", "--grace-period")}
TIME_WORDS = ("timeout", "period", "interval", "duration", "deadline", "grace")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("1m30s", 90.0),
        ("250ms", 0.25),
        ("1h", 3600.0),
        ("1.5h", 5400.0),
        ("2h45m", 9900.0),
        ("0", 0.0),
        ("0s", 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("1500us", 0.0015),
        ("30d", 30 * 86400.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["abc", "5x", "1m30", "", "-5s", "s", "1 m", "1e3"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(DurationError, match=f'invalid duration "{text}": use e.g. 30s, 1m30s'):
        parse_duration(text)


def _command(path: tuple[str, ...]) -> click.Command:
    _register()
    command: Any = cli
    ctx = click.Context(cli)
    for word in path:
        command = command.get_command(ctx, word)
    return command  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("path", "args", "param", "seconds"),
    [
        (("server",), ["--node-monitor-grace-period", "5s"], "node_monitor_grace_period", 5),
        (("server",), ["--leader-elect-lease-duration", "1m"], "leader_elect_lease_duration", 60),
        (("server",), ["--leader-elect-renew-deadline", "10s"], "leader_elect_renew_deadline", 10),
        (("server",), ["--leader-elect-retry-period", "500ms"], "leader_elect_retry_period", 0.5),
        (("controller-manager",), ["--node-monitor-grace-period", "1m30s"],
         "node_monitor_grace_period", 90),
        (("agent",), ["--lease-interval", "250ms"], "lease_interval", 0.25),
        (("up",), ["--timeout", "2m"], "timeout", 120),
        (("down",), ["--timeout", "5s"], "timeout", 5),
        (("get",), ["pods", "--request-timeout", "1.5s"], "request_timeout", 1.5),
        (("wait",), ["pod/x", "--for=delete", "--timeout", "1m30s"], "timeout", 90),
        (("rollout", "status"), ["deploy/x", "--timeout", "5m"], "timeout", 300),
        (("create", "token"), ["sa", "--duration", "24h"], "duration", 86400),
        (("server",), ["--node-monitor-grace-period", "40"], "node_monitor_grace_period", 40),
        (("server",), ["--horizontal-pod-autoscaler-sync-period", "500ms"],
         "horizontal_pod_autoscaler_sync_period", 0.5),
        (("server",), ["--horizontal-pod-autoscaler-downscale-stabilization", "1m"],
         "horizontal_pod_autoscaler_downscale_stabilization", 60),
        (("controller-manager",), ["--horizontal-pod-autoscaler-sync-period", "2s"],
         "horizontal_pod_autoscaler_sync_period", 2),
        (("controller-manager",), ["--horizontal-pod-autoscaler-downscale-stabilization", "0s"],
         "horizontal_pod_autoscaler_downscale_stabilization", 0),
    ],
)  # fmt: skip
def test_duration_flags_take_go_durations(
    path: tuple[str, ...], args: list[str], param: str, seconds: float
) -> None:
    command = _command(path)
    ctx = command.make_context(path[-1], list(args))
    assert ctx.params[param] == pytest.approx(seconds)


def _options(group: click.Group, prefix: tuple[str, ...] = ()) -> list[Any]:
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            found += _options(command, (*prefix, name))
        elif command is not None:
            found += [((*prefix, name), p) for p in command.params if isinstance(p, click.Option)]
    return found


def test_every_time_flag_is_a_duration() -> None:
    _register()
    wrong = [
        f"{' '.join(path)} {option.opts[-1]}"
        for path, option in _options(cli)
        if any(word in option.opts[-1] for word in TIME_WORDS)
        and (path[-1], option.opts[-1]) not in INTEGER_SECONDS
        and not isinstance(option.type, Duration)
    ]
    assert wrong == []


async def test_a_bad_duration_is_refused_clearly(shoal: Shoal) -> None:
    bad = await shoal("wait", "pod/x", "--for=delete", "--timeout", "abc")
    assert bad.code == 2
    assert 'invalid duration "abc": use e.g. 30s, 1m30s or a number of seconds' in bad.err
    short = await shoal("server", "--node-monitor-grace-period", "0", server=False)
    assert short.code == 2 and 'invalid duration "0": must be at least 100ms' in short.err
