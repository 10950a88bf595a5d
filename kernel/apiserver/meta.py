"""Metadata the server owns: uid, timestamps, generated names, generation."""

from __future__ import annotations

import random
import secrets
import uuid

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from shoal import clock

# Kubernetes' generateName alphabet: no vowels, no look-alike digits.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> Timestamp:
    """Whole seconds, as Kubernetes stores metadata timestamps."""
    return Timestamp(seconds=int(clock.time()))


_uids = random.Random()  # seeded from os.urandom; a uid must be unique, not secret


def new_uid() -> str:
    """A version-4 UUID. Not from os.urandom per call: on small VMs that
    system call costs as much as validating the whole object."""
    return str(uuid.UUID(int=_uids.getrandbits(128), version=4))


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(5))


def body_of(obj: Message) -> bytes:
    """Everything but metadata and status: what a generation counts changes of."""
    copy = type(obj)()
    copy.CopyFrom(obj)
    copy.ClearField("metadata")  # type: ignore[arg-type]
    if "status" in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField("status")  # type: ignore[arg-type]
    copy.ClearField("api_version")  # type: ignore[arg-type]
    copy.ClearField("kind")  # type: ignore[arg-type]
    return copy.SerializeToString(deterministic=True)
