"""Cluster DNS (Kubernetes' DNS specification), node-local: every agent
serves its pods. ``records`` turns Services and Endpoints into names,
``resolver`` answers one query from them, ``server`` listens on UDP and TCP
and forwards names outside the cluster domain, ``clusterdns`` follows the
API through shared informers, ``resolvconf`` says what a pod's
/etc/resolv.conf holds."""
