"""A Job's ``spec.managedBy``: which controller runs it. Unset or
``kubernetes.io/job-controller`` is shoal's job controller; any other
domain-prefixed path hands the job to an external one (Kueue's MultiKueue),
and shoal's leaves it alone (``shoal.plugins.controllers.job_util.managed_here``)."""

from __future__ import annotations

import re

from shoal.strategy import Causes
from shoal.validation import validate_dns1123_subdomain

JOB_CONTROLLER = "kubernetes.io/job-controller"
MAX_MANAGED_BY = 63


def validate_managed_by(path: str, value: str) -> Causes:
    """IsDomainPrefixedPath, at most 63 characters."""
    if not value:
        return [(path, "Required value")]
    causes: Causes = []
    host, _, rest = value.partition("/")
    if not host or not rest:
        causes.append((path, f'Invalid value: "{value}": {_DOMAIN_PREFIXED}'))
    else:
        causes += [
            (path, f'Invalid value: "{host}": {e}') for e in validate_dns1123_subdomain(host)
        ]
        if not _HTTP_PATH.fullmatch(rest):
            causes.append((path, f'Invalid value: "{rest}": {_INVALID_PATH}'))
    if len(value) > MAX_MANAGED_BY:
        causes.append((path, f"Too long: may not be more than {MAX_MANAGED_BY} bytes"))
    return causes


_DOMAIN_PREFIXED = 'must be a domain-prefixed path (such as "acme.io/foo")'
_HTTP_PATH = re.compile(r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+")
_INVALID_PATH = "Invalid path (regex used for validation is '[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"
