"""The client library: an async gRPC client and informers."""

from shoal.client.channel import call_metadata
from shoal.client.client import Client, ObjectList, WatchEvent, channel_credentials
from shoal.client.informer import Informer, object_key

__all__ = [
    "Client",
    "Informer",
    "ObjectList",
    "WatchEvent",
    "call_metadata",
    "channel_credentials",
    "object_key",
]
