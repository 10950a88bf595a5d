"""The client config file: clusters, users and contexts, like a kubeconfig.

Resolution order for the file: ``--config``, then ``$SHOAL_CONFIG``, then
``~/.shoal/config``. Files are written with mode 0600: they carry
credentials (once security lands) and say where the cluster is.
"""

from __future__ import annotations

import base64
import binascii
import os
import pathlib
from dataclasses import dataclass
from typing import Any

import yaml

DEFAULT_PATH = pathlib.Path("~/.shoal/config")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class ClientConfig:
    """What a client needs to reach one cluster."""

    server: str
    namespace: str = "default"
    context: str = ""
    token: str = ""
    # PEM bytes: the CA to verify the server with, the client's certificate
    # and key. No CA means a plain connection (a server run with --insecure).
    ca_data: bytes = b""
    cert_data: bytes = b""
    key_data: bytes = b""

    @property
    def secure(self) -> bool:
        return bool(self.ca_data)


def config_path(explicit: str | os.PathLike[str] | None = None) -> pathlib.Path:
    chosen = explicit or os.environ.get("SHOAL_CONFIG") or DEFAULT_PATH
    return pathlib.Path(chosen).expanduser()


def empty_config() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "",
        "clusters": [],
        "users": [],
        "contexts": [],
    }


def read(path: pathlib.Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or empty_config()
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {path}: start a cluster with `shoal up`, "
            "or point --config / SHOAL_CONFIG at one"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a shoal config file")
    return data


def write(path: pathlib.Path, data: dict[str, Any]) -> None:
    """Atomically, with mode 0600 from the start (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(data, out, sort_keys=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((item for item in items or [] if item.get("name") == name), None)


def set_context(
    data: dict[str, Any],
    name: str,
    server: str,
    *,
    namespace: str = "default",
    user: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
    make_current: bool = True,
    extensions: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Add or replace cluster, user and context ``name`` in a config;
    ``cluster`` adds fields such as ``certificate-authority-data``;
    ``extensions`` (name: body) go in the context, as kubeconfig has them."""
    context: dict[str, Any] = {"cluster": name, "user": name, "namespace": namespace}
    if extensions:
        context["extensions"] = [{"name": k, "extension": v} for k, v in extensions.items()]
    for section, body in (
        ("clusters", {"cluster": {"server": server, **(cluster or {})}}),
        ("users", {"user": user or {}}),
        ("contexts", {"context": context}),
    ):
        items = [i for i in data.get(section) or [] if i.get("name") != name]
        data[section] = [*items, {"name": name, **body}]
    if make_current or not data.get("current-context"):
        data["current-context"] = name
    return data


def delete_context(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Remove context ``name`` and the cluster and user of that name, as
    ``minikube delete`` does; the current context is unset if it was this."""
    for section in ("clusters", "users", "contexts"):
        data[section] = [i for i in data.get(section) or [] if i.get("name") != name]
    if data.get("current-context") == name:
        data["current-context"] = ""
    return data


def context_extension(data: dict[str, Any], extension: str, context: str = "") -> dict[str, Any]:
    """The body of a context's named extension ({} when it has none); the
    current context unless ``context`` names one."""
    name = context or data.get("current-context") or ""
    ctx = _named(data.get("contexts", []), name)
    if ctx is None:
        if context:
            raise ConfigError(f'context "{name}" not found in the config')
        return {}
    found = _named((ctx.get("context") or {}).get("extensions") or [], extension)
    return dict((found or {}).get("extension") or {})


def resolve(data: dict[str, Any], context: str = "") -> ClientConfig:
    name = context or data.get("current-context") or ""
    if not name:
        raise ConfigError("no current context is set: use `shoal config use-context NAME`")
    ctx = _named(data.get("contexts", []), name)
    if ctx is None:
        raise ConfigError(f'context "{name}" not found in the config')
    body = ctx.get("context") or {}
    cluster = _named(data.get("clusters", []), body.get("cluster", ""))
    if cluster is None:
        raise ConfigError(f'cluster "{body.get("cluster")}" of context "{name}" not found')
    user = (_named(data.get("users", []), body.get("user", "")) or {}).get("user") or {}
    cluster_body = cluster.get("cluster") or {}
    if cluster_body.get("insecure-skip-tls-verify"):
        raise ConfigError(
            f'cluster "{body.get("cluster")}": insecure-skip-tls-verify is not supported; '
            "set certificate-authority-data (admin.conf of the server has it)"
        )
    return ClientConfig(
        server=cluster_body.get("server", ""),
        namespace=body.get("namespace") or "default",
        context=name,
        token=user.get("token", ""),
        ca_data=_pem(cluster_body, "certificate-authority"),
        cert_data=_pem(user, "client-certificate"),
        key_data=_pem(user, "client-key"),
    )


def _pem(section: dict[str, Any], field: str) -> bytes:
    """``<field>-data`` (base64 PEM) or ``<field>`` (a file), as kubeconfig has them."""
    if data := section.get(f"{field}-data"):
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{field}-data is not base64") from None
    if path := section.get(field):
        try:
            return pathlib.Path(path).expanduser().read_bytes()
        except OSError as err:
            raise ConfigError(f"cannot read {field} {path}: {err.strerror}") from None
    return b""


def load(explicit: str | os.PathLike[str] | None = None, context: str = "") -> ClientConfig:
    return resolve(read(config_path(explicit)), context)
