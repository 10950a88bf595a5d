"""The service proxy (kube-proxy): forwards ClusterIP and NodePort traffic to
a Service's ready endpoints. ``serviceproxy`` is the plugin; ``proxier``
follows Services and Endpoints; ``relay`` moves TCP and UDP; ``balancer``
picks endpoints; ``rules`` keeps the host's iptables rules in kernel mode."""
