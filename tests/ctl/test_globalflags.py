import click
from shoal.ctl.globalflags import hoist_global_flags, verb_flags


def test_global_flags_move_before_the_verb() -> None:
    assert hoist_global_flags(["get", "pods", "-n", "kube", "-o", "wide"]) == [
        "-n",
        "kube",
        "get",
        "pods",
        "-o",
        "wide",
    ]
    assert hoist_global_flags(["get", "pods", "--namespace=x", "--context", "c"]) == [
        "--namespace=x",
        "--context",
        "c",
        "get",
        "pods",
    ]
    assert hoist_global_flags(["get", "po", "-nkube"]) == ["-n", "kube", "get", "po"]


def test_exec_command_is_left_alone() -> None:
    assert hoist_global_flags(["exec", "web", "-n", "a", "--", "ls", "-n", "b"]) == [
        "-n",
        "a",
        "exec",
        "web",
        "--",
        "ls",
        "-n",
        "b",
    ]


def test_a_trailing_flag_without_value_is_left_for_click_to_report() -> None:
    assert hoist_global_flags(["get", "pods", "-n"]) == ["get", "pods", "-n"]


def test_a_verb_owning_the_flag_keeps_it() -> None:
    group = click.Group(
        commands=[
            click.Group(
                "config",
                commands=[click.Command("set-context", params=[click.Option(["--namespace"])])],
            )
        ]
    )
    args = ["config", "set-context", "b", "--namespace=web", "--context", "x"]
    owned = verb_flags(group, args)
    assert "--namespace" in owned
    assert hoist_global_flags(args, owned) == [
        "--context",
        "x",
        "config",
        "set-context",
        "b",
        "--namespace=web",
    ]
    assert verb_flags(group, ["-n", "x", "nope"]) == frozenset()
