"""Built-in controllers, one plugin module each (``replication``,
``deployment``, ``garbagecollector``, ``namespace``, ``nodelifecycle``).

Each module registers its controllers through ``register_controllers``
exactly as a third-party plugin would, and is listed in
``shoal.plugin_manager.DEFAULT_PLUGINS``; the control-plane host starts every
registered controller with a client connected to the API server.
"""
