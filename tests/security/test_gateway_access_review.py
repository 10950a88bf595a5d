"""authorization.k8s.io over REST: what `kubectl auth can-i` and in-cluster
programs post, answered for the caller (or the user a SubjectAccessReview
names), with nothing stored."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp

from tests.security.conftest import SecureServer
from tests.security.test_gateway_tls import _tls

API = "/apis/authorization.k8s.io/v1"


async def _post(url: str, body: Any, context: ssl.SSLContext, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json=body, ssl=context, headers=headers) as answer,
    ):
        return answer.status, json.loads(await answer.text())


def _review(kind: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}


GET_PODS = {"verb": "get", "resource": "pods", "namespace": "default"}


async def test_self_subject_access_review_answers_for_the_caller(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    reader = secure_server.security.service_accounts.issue("default", "reader", 600)
    plain, admin = _tls(secure_server, tmp_path), _tls(secure_server, tmp_path, user="jane")
    url = f"{gateway_url}{API}/selfsubjectaccessreviews"
    ssar = _review("SelfSubjectAccessReview", resourceAttributes=GET_PODS)
    code, body = await _post(url, ssar, plain, token=reader)
    assert code == 201 and body["kind"] == "SelfSubjectAccessReview"
    assert body["status"]["allowed"] is False
    code, body = await _post(url, ssar, admin)
    assert (code, body["status"]["allowed"]) == (201, True)
    assert body["spec"]["resourceAttributes"] == GET_PODS
    paths = _review("SelfSubjectAccessReview", nonResourceAttributes={"verb": "get", "path": "/x"})
    assert (await _post(url, paths, admin))[1]["status"]["allowed"] is True
    code, body = await _post(url, _review("SelfSubjectAccessReview"), admin)
    assert (code, body["reason"]) == (400, "BadRequest")


async def test_subject_access_review_needs_rights_over_the_subject(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    reader = secure_server.security.service_accounts.issue("default", "reader", 600)
    plain, admin = _tls(secure_server, tmp_path), _tls(secure_server, tmp_path, user="jane")
    url = f"{gateway_url}{API}/subjectaccessreviews"
    sar = _review("SubjectAccessReview", user="bob", resourceAttributes=GET_PODS)
    code, body = await _post(url, sar, plain, token=reader)
    assert (code, body["reason"]) == (403, "Forbidden")
    code, body = await _post(url, sar, admin)
    assert (code, body["status"]["allowed"]) == (201, False)
    local = f"{gateway_url}{API}/namespaces/default/localsubjectaccessreviews"
    masters = _review(
        "LocalSubjectAccessReview",
        user="ann",
        groups=["system:masters"],
        resourceAttributes=GET_PODS,
    )
    assert (await _post(local, masters, admin))[1]["status"]["allowed"] is True


async def test_self_subject_rules_review_lists_the_callers_rules(
    secure_server: SecureServer, gateway_url: str, tmp_path: Path
) -> None:
    url = f"{gateway_url}{API}/selfsubjectrulesreviews"
    admin = _tls(secure_server, tmp_path, user="jane")
    code, body = await _post(url, _review("SelfSubjectRulesReview", namespace="default"), admin)
    assert code == 201 and body["status"]["incomplete"] is False
    assert {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]} in body["status"][
        "resourceRules"
    ]
    assert {"verbs": ["*"], "nonResourceURLs": ["*"]} in body["status"]["nonResourceRules"]
