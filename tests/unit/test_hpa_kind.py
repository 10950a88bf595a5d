"""The HorizontalPodAutoscaler kind: Kubernetes' defaults and kubectl's columns."""

from __future__ import annotations

from shoal.api.v1 import autoscaling_pb2
from shoal.manifest import to_dict
from shoal.plugins.kinds.autoscaling import HPA, default_hpa


def _hpa(**spec: object) -> autoscaling_pb2.HorizontalPodAutoscaler:
    obj = autoscaling_pb2.HorizontalPodAutoscaler(
        api_version="autoscaling/v2", kind="HorizontalPodAutoscaler"
    )
    obj.metadata.name = "web"
    obj.spec.scale_target_ref.kind = "Deployment"
    obj.spec.scale_target_ref.name = "web"
    obj.spec.max_replicas = 5
    for key, value in spec.items():
        setattr(obj.spec, key, value)
    return obj


def test_defaults_are_one_replica_and_80_percent_cpu() -> None:
    obj = _hpa()
    default_hpa(obj)
    body = to_dict(obj)["spec"]
    assert body["minReplicas"] == 1
    assert body["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80},
            },
        }
    ]
    assert "behavior" not in body


def test_a_given_behavior_is_filled_in_as_kubernetes_does() -> None:
    obj = _hpa()
    obj.spec.behavior.scale_down.stabilization_window_seconds = 5
    default_hpa(obj)
    behavior = to_dict(obj)["spec"]["behavior"]
    assert behavior["scaleDown"] == {
        "stabilizationWindowSeconds": 5,
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ]


def test_columns_as_kubectl_prints_them() -> None:
    obj = _hpa(min_replicas=2)
    default_hpa(obj)
    table = HPA.strategy.table
    assert table is not None
    body = to_dict(obj)
    assert table.cells(body, 0.0)[:5] == ["Deployment/web", "cpu: <unknown>/80%", "2", "5", "0"]
    body["status"] = {
        "currentReplicas": 3,
        "desiredReplicas": 3,
        "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 50}}}
        ],
    }
    assert table.cells(body, 0.0)[1:5] == ["cpu: 50%/80%", "2", "5", "3"]
