"""shoal: a small, real container orchestrator shaped like Kubernetes.

Plugins need only ``from shoal import hookimpl``.
"""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("shoal")

__all__ = ["__version__", "hookimpl"]
