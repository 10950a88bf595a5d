"""The secure server and gateway fixtures of tests/security, for history tests."""

from tests.security.conftest import secure_gateway, secure_server  # noqa: F401
