"""The columns ``shoal get`` prints for a kind: the kind's strategy's
:class:`shoal.strategy.Table`, the same the gateway serves to ``kubectl get``."""

from __future__ import annotations

from shoal import kinds
from shoal.client import componentstatus
from shoal.strategy import AGE_TABLE, Table, table_of

# Tables of what is shown but never stored as a kind.
_UNSTORED = {"ComponentStatus": componentstatus.TABLE}


def table_for(kind: str, api_version: str = "") -> Table:
    """The table of the kind called ``kind`` (found by apiVersion too when
    given); NAME and AGE for a kind the server does not know."""
    if kind in _UNSTORED:
        return _UNSTORED[kind]
    try:
        found = kinds.by_api_version_kind(api_version, kind) if api_version else kinds.resolve(kind)
    except kinds.UnknownKindError:
        try:
            found = kinds.resolve(kind)
        except kinds.UnknownKindError:
            return AGE_TABLE
    return table_of(found.strategy)
