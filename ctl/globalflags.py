"""kubectl takes its global flags anywhere: ``shoal get pods -n kube-system``
as well as ``shoal -n kube-system get pods``. Click reads a group's options
only before the verb, so the global ones are moved there first; nothing after
``--`` (the command of ``exec``) is touched."""

from __future__ import annotations

# flag -> whether it takes a value
GLOBAL_FLAGS = {
    "-n": True,
    "--namespace": True,
    "--context": True,
    "--server": True,
    "--config": True,
}


def hoist_global_flags(argv: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_FLAGS and "=" in arg:
            front.append(arg)
        elif name in GLOBAL_FLAGS and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 1
        elif arg.startswith("-n") and len(arg) > 2 and not arg.startswith("--"):
            front += ["-n", arg[2:]]  # -nkube-system
        else:
            rest.append(arg)
        i += 1
    return front + rest
