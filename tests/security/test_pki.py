"""The CA and its certificates: files, renewal before expiry, rotation
picked up by a running server, and the command line around them."""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

from click.testing import CliRunner
from shoal import pki
from shoal.apiserver.pkifiles import LEAVES, ServerPKI
from shoal.apiserver.security import ServerSecurity, check_insecure_listen, write_admin_config
from shoal.config import load
from shoal.ctl.main import _register, cli

from tests.security.conftest import SecureServer


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_key_files_and_admin_config_are_0600(tmp_path: Path) -> None:
    security = ServerSecurity.load(tmp_path / "pki", pki.serving_names("127.0.0.1"))
    admin = write_admin_config(tmp_path / "admin.conf", "127.0.0.1:6443", security)
    join = tmp_path / "join-token"
    security.ensure_join_token(join)
    files = [admin, join, *(tmp_path / "pki").iterdir()]
    assert {p.name for p in files} >= {"ca.key", "admin.key", "apiserver.key", "sa.key"}
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    cfg = load(str(admin))
    assert cfg.ca_data == security.pki.ca_pem
    assert pki.identity(pki.load_cert(cfg.cert_data)) == ("shoal-admin", ("system:masters",))


def test_serving_certificate_names_loopback_host_and_extras(tmp_path: Path) -> None:
    server_pki = ServerPKI(tmp_path, pki.serving_names("10.1.2.3", ["api.example"]))
    names = pki.san_strings(server_pki.ensure("apiserver").cert)
    assert {"localhost", "127.0.0.1", "::1", "10.1.2.3", "api.example"} <= names
    # A new --tls-san on restart issues a new certificate from the same CA.
    again = ServerPKI(tmp_path, pki.serving_names("10.1.2.3", ["other.example"]))
    assert "other.example" in pki.san_strings(again.ensure("apiserver").cert)
    assert again.ca.cert == server_pki.ca.cert


def test_certificates_are_renewed_when_a_third_of_life_is_left(tmp_path: Path) -> None:
    server_pki = ServerPKI(tmp_path)
    short = server_pki.rotate("admin", lifetime=datetime.timedelta(hours=3))
    now = pki.now()
    assert server_pki.ensure("admin", at=now).cert == short.cert  # 2/3 still ahead
    later = now + datetime.timedelta(hours=2, minutes=10)  # under a third left
    renewed = server_pki.ensure("admin", at=later)
    assert renewed.cert.serial_number != short.cert.serial_number
    assert renewed.cert.not_valid_after_utc > short.cert.not_valid_after_utc
    assert server_pki.ca.issued(renewed.cert)


def test_certificate_from_another_ca_is_reissued(tmp_path: Path) -> None:
    first = ServerPKI(tmp_path)
    pair = first.ensure("admin")
    (tmp_path / "ca.crt").unlink()
    (tmp_path / "ca.key").unlink()
    second = ServerPKI(tmp_path)
    assert second.ensure("admin").cert != pair.cert
    assert second.ca.issued(second.ensure("admin").cert)


async def test_running_server_serves_a_rotated_certificate(
    secure_server: SecureServer,
) -> None:
    server_pki = secure_server.security.pki

    async def served_serial() -> int:
        import ssl

        host, port = secure_server.address.rsplit(":", 1)
        pem = ssl.get_server_certificate((host, int(port)))
        return int(pki.load_cert(pem.encode()).serial_number)

    before = await served_serial()
    assert before == server_pki.load("apiserver").cert.serial_number  # type: ignore[union-attr]
    rotated = server_pki.rotate("apiserver")
    assert await served_serial() == rotated.cert.serial_number
    async with secure_server.client(
        cert_data=server_pki.ensure("admin").cert_pem, key_data=server_pki.ensure("admin").key_pem
    ) as client:
        await client.version()  # clients verify the new certificate with the same CA


def test_insecure_refuses_anything_but_loopback() -> None:
    for listen in ("127.0.0.1:0", "[::1]:6443", "localhost:1"):
        check_insecure_listen(listen)
    for listen in ("0.0.0.0:6443", "10.0.0.1:6443", ":6443", "[::]:6443", "example.com:1"):
        try:
            check_insecure_listen(listen)
        except ValueError as err:
            assert "loopback" in str(err)
        else:
            raise AssertionError(f"{listen} was accepted")


def test_server_command_refuses_insecure_on_every_address(tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(
        cli, ["server", "--insecure", "--listen", "0.0.0.0:0", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "only listens on loopback" in result.output
    assert not (tmp_path / "admin.conf").exists()


def test_certs_check_and_rotate(tmp_path: Path) -> None:
    security = ServerSecurity.load(tmp_path / "pki")
    write_admin_config(tmp_path / "admin.conf", "127.0.0.1:6443", security)
    old_admin = load(str(tmp_path / "admin.conf")).cert_data
    _register()
    runner = CliRunner()
    check = runner.invoke(cli, ["certs", "check", "--data-dir", str(tmp_path)])
    assert check.exit_code == 0, check.output
    for leaf in ("ca", *LEAVES):
        assert leaf in check.output
    assert "shoal-admin (system:masters)" in check.output
    rotate = runner.invoke(cli, ["certs", "rotate", "--data-dir", str(tmp_path)])
    assert rotate.exit_code == 0, rotate.output
    new_admin = load(str(tmp_path / "admin.conf")).cert_data
    assert new_admin != old_admin
    assert security.pki.ca.issued(pki.load_cert(new_admin))
    bad = runner.invoke(cli, ["certs", "rotate", "--data-dir", str(tmp_path), "nope"])
    assert bad.exit_code == 2 and "unknown certificate" in bad.output
    missing = runner.invoke(cli, ["certs", "check", "--data-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "no CA" in missing.output
