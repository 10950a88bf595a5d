"""Kubernetes' own kinds, each registered through ``register_kinds`` with its
strategy (:mod:`shoal.strategy`) exactly as a third-party kind is: ``core``
(the ``v1`` group), ``apps``, ``rbac`` and ``coordination``."""
