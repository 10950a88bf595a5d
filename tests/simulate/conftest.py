"""The secure server and gateway fixtures of tests/security."""

from tests.security.conftest import secure_gateway, secure_server  # noqa: F401
