"""The registry a ``register_*`` hook fills: a name -> object table that
remembers which plugin registered each name, so a clash can name both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class RegistryError(Exception):
    """Base of the registry's errors."""


class DuplicateNameError(RegistryError, ValueError):
    """A name was registered twice."""


class UnknownNameError(RegistryError, KeyError):
    """``get`` asked for a name nobody registered."""

    def __str__(self) -> str:
        # KeyError would otherwise render the message as a quoted repr.
        return str(self.args[0]) if self.args else ""


class Registry(Generic[T]):
    """Names to objects (factories, plugin instances, kinds) of one sort.

    ``what`` says what the names are ("store", "runtime") so errors read
    naturally: ``unknown runtime 'dokcer'; available: docker, fake``.
    """

    def __init__(self, what: str = "name") -> None:
        self.what = what
        self._items: dict[str, T] = {}
        self._owners: dict[str, str | None] = {}
        self._current_plugin: str | None = None

    @contextmanager
    def plugin(self, name: str | None) -> Iterator[Registry[T]]:
        """Attribute registrations made inside the block to plugin ``name``.

        The plugin manager wraps each hook implementation in this, so plugin
        authors never need to call it.
        """
        previous, self._current_plugin = self._current_plugin, name
        try:
            yield self
        finally:
            self._current_plugin = previous

    def register(self, name: str, obj: T) -> T:
        """Add ``name -> obj`` and return ``obj``."""
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{self.what} name must be a non-empty string, got {name!r}")
        if name in self._items:
            raise DuplicateNameError(self._duplicate_message(name))
        self._items[name] = obj
        self._owners[name] = self._current_plugin
        return obj

    def _duplicate_message(self, name: str) -> str:
        first, second = self._owners[name], self._current_plugin
        message = f"{self.what} {name!r} is registered twice"
        if first or second:
            message += f" (by plugin {first or '?'!r} and by plugin {second or '?'!r})"
        return message + "; disable one of them with SHOAL_DISABLE_PLUGINS"

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            available = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(
                f"unknown {self.what} {name!r}; available: {available}"
            ) from None

    def owner(self, name: str) -> str | None:
        """The plugin that registered ``name``, if known."""
        self.get(name)
        return self._owners[name]

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {self.names()!r})"
