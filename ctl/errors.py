"""Turning failures into one line a person can act on, and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click


def describe(err: BaseException) -> str | None:
    """The one-line message for an error we expect, or None."""
    from shoal import errors
    from shoal.config import ConfigError

    if isinstance(err, errors.UnavailableError) and not err.from_server:
        return f"error: the API server is not answering ({err.message}); is it running?"
    if isinstance(err, errors.APIError):
        return f"Error from server ({err.reason}): {err.message}"
    if isinstance(err, ConfigError):
        return f"error: {err}"
    if isinstance(err, (OSError, ValueError)):
        return f"error: {err}"
    return None


def run_guarded(call: Callable[[], Any]) -> int:
    try:
        result = call()
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        message = describe(err)
        if message is None:
            message = f"error: unexpected {type(err).__name__}: {err}"
        click.echo(message, err=True)
        return 1
    return int(result or 0)


def exit_on(err: BaseException) -> None:
    message = describe(err) or f"error: {err}"
    click.echo(message, err=True)
    sys.exit(1)
