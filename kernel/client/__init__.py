"""The client library: an async gRPC client and informers."""

from shoal.client.channel import call_metadata
from shoal.client.client import Client, ObjectList, WatchEvent, channel_credentials
from shoal.client.factory import SharedInformerFactory, run_every, shared_informers
from shoal.client.informer import Informer, object_key
from shoal.client.listener import HandlerRegistration

__all__ = [
    "Client",
    "HandlerRegistration",
    "Informer",
    "ObjectList",
    "SharedInformerFactory",
    "WatchEvent",
    "call_metadata",
    "channel_credentials",
    "object_key",
    "run_every",
    "shared_informers",
]
