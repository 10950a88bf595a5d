"""kubectl's move from client-side to server-side apply, as Kubernetes'
field manager helps it (lastappliedmanager.go, lastappliedupdater.go).

A client-side apply leaves its configuration in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation and its
fields with the ``kubectl-client-side-apply`` manager. When ``kubectl apply
--server-side`` (manager ``kubectl``) then changes those fields, that is no
conflict: the fields were kubectl's all along. And while the annotation is
there, kubectl's server-side applies keep it current, so a later
client-side apply still computes the right patch.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from shoal.apiserver import fieldmanager, fieldpaths
from shoal.apiserver.fieldmanager import Write
from shoal.apiserver.fieldpaths import Path

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL = "kubectl"


def allowed_conflicts(live: Any, write: Write) -> set[Path]:
    """The fields of the last client-side apply, which kubectl's
    server-side apply may take without a conflict."""
    text = live.metadata.annotations.get(LAST_APPLIED, "") if live is not None else ""
    if write.manager != KUBECTL or not text:
        return set()
    try:
        document = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(document, dict):
        return set()
    return set(fieldpaths.leaves(fieldmanager.owned(document, write)))


def sync_annotation(new: Any, config: dict[str, Any], manager: str) -> None:
    """kubectl's server-side apply rewrites an existing annotation to the
    configuration it applied (without the annotation itself)."""
    annotations = new.metadata.annotations
    if manager != KUBECTL or LAST_APPLIED not in annotations:
        return
    applied = copy.deepcopy(config)
    own = (applied.get("metadata") or {}).get("annotations")
    if isinstance(own, dict):
        own.pop(LAST_APPLIED, None)
    annotations[LAST_APPLIED] = json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"
