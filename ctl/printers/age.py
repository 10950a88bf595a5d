"""Ages as kubectl prints them: the kernel's :mod:`shoal.age`, which the
kinds' table columns share with ``shoal get``."""

from shoal.age import age, human_duration, parse_time

__all__ = ["age", "human_duration", "parse_time"]
