"""shoal-widgets: an example third-party shoal plugin.

It adds a kind, ``Widget`` (``example.shoal.dev/v1``), through
``register_kinds`` with its own protobuf message (``widgets_pb2``, compiled
from ``proto/shoal_widgets/widgets.proto``) and strategy (:mod:`.kind`); a
controller that reconciles widgets (:mod:`.controller`); and a ``shoal grow``
verb (:mod:`.verb`). :mod:`.plugin` holds the hook implementations the
``shoal`` entry point names. shoal never imports this package: the entry
point is how it is found.
"""
