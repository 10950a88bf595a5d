"""The default scheduler: places pending pods on nodes.

- :mod:`.cache` - nodes with what their pods request, and assumed pods;
- :mod:`.queue` - the scheduling queue (active, backoff, unschedulable);
- :mod:`.framework` - one pod's filter/score cycle over registered plugins;
- :mod:`.filters`, :mod:`.scores`, :mod:`.matching` - the built-in policies;
- :mod:`.scheduler` - informers, the scheduling loop and binding;
- :mod:`.default_scheduler` - the plugin that registers all of it.
"""
