"""kubectl takes its global flags anywhere: ``shoal get pods -n kube-system``
as well as ``shoal -n kube-system get pods``. Click reads a group's options
only before the verb, so the global ones are moved there first — unless the
verb has an option of that name itself (``config set-context --namespace``),
and never after ``--`` (the command of ``exec``)."""

from __future__ import annotations

import click

# Every one of them takes a value.
GLOBAL_FLAGS = (
    "-n",
    "--namespace",
    "--context",
    "--server",
    "--config",
    "--as",
    "--as-group",
    "--as-uid",
)


def hoist_global_flags(argv: list[str], owned: frozenset[str] = frozenset()) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if name in owned:
            rest.append(arg)
        elif name in GLOBAL_FLAGS and "=" in arg:
            front.append(arg)
        elif name in GLOBAL_FLAGS and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 1
        elif (
            arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--") and "-n" not in owned
        ):
            front += ["-n", arg[2:]]  # -nkube-system
        else:
            rest.append(arg)
        i += 1
    return front + rest


def verb_flags(group: click.Group, argv: list[str]) -> frozenset[str]:
    """The option names the verb (or sub-verb) on this command line declares."""
    command: click.Command = group
    i = 0
    while i < len(argv) and isinstance(command, click.Group):
        arg = argv[i]
        if arg == "--":
            break
        if arg.split("=", 1)[0] in GLOBAL_FLAGS:
            i += 1 if "=" in arg else 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        sub = command.commands.get(arg)
        if sub is None:
            break
        command = sub
        i += 1
    if command is group:
        return frozenset()
    return frozenset(opt for p in command.params for opt in (*p.opts, *p.secondary_opts))
