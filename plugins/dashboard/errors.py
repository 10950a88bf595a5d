"""Refusals of the dashboard's own endpoints: 400 (or the API's code) with a
clear message as JSON, never a traceback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from shoal import errors

log = structlog.get_logger("dashboard")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_CODES = {"NOT_FOUND": 404, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "ABORTED": 409}


class Refused(Exception):
    """A request the dashboard will not do: ``message`` is for the person."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def refuse(message: str, code: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=code)


def api_code(err: errors.APIError) -> int:
    name = getattr(getattr(err, "code", None), "name", "")
    return API_CODES.get(name, 400 if name in ("INVALID_ARGUMENT", "ALREADY_EXISTS") else 502)


@web.middleware
async def refusals(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as err:
        return refuse(err.message, err.code)
    except errors.APIError as err:
        return refuse(err.message, api_code(err))
    except web.HTTPException as err:
        if err.status < 400:
            raise
        return refuse(err.reason if err.status != 404 else "no such page", err.status)
    except Exception:  # a bug: logged, and a plain answer without the traceback
        log.exception("dashboard request failed", path=request.path)
        return refuse("an error in the dashboard; see the server's log", 500)
