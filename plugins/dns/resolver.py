"""One query in, one answer out, from :class:`~.records.Names`; no sockets.

Names inside the cluster zone (and the reverse zones of ClusterIPs) are
answered here: the records, NODATA for a name that exists without records
of the asked type, NXDOMAIN for the rest. ``answer`` returns ``None`` for
names outside, which the server forwards to the node's resolvers.
"""

from __future__ import annotations

import ipaddress

from dnslib import AAAA, PTR, QTYPE, RCODE, RR, SRV, A, DNSRecord
from shoal.plugins.dns.records import Names

TTL = 5  # seconds, as CoreDNS's kubernetes plugin default


def in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def _is_reverse(name: str) -> bool:
    return name.endswith(".in-addr.arpa") or name.endswith(".ip6.arpa")


class Resolver:
    def __init__(self, zone: str) -> None:
        self.zone = zone.lower().rstrip(".")
        self.names = Names()

    def answer(self, query: DNSRecord) -> DNSRecord | None:
        """The reply to ``query``, or ``None`` when it is not ours to answer."""
        q = query.q
        name = str(q.qname).rstrip(".").lower()
        if _is_reverse(name):
            if name not in self.names.pointers:
                return None  # not a ClusterIP: the node's resolvers may know it
        elif not in_zone(name, self.zone):
            return None
        reply = query.reply()  # sets QR, AA, RD, RA and copies the question
        records = self._records(name, q.qtype)
        for rr in records:
            reply.add_answer(rr)
        if not records and name not in self.names.known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    def _records(self, name: str, qtype: int) -> list[RR]:
        names, fqdn = self.names, name + "."
        records: list[RR] = []
        if qtype in (QTYPE.A, QTYPE.AAAA, QTYPE.ANY):
            for ip in names.addresses.get(name, []):
                v6 = ipaddress.ip_address(ip).version == 6
                if qtype == QTYPE.ANY or (qtype == QTYPE.AAAA) == v6:
                    rtype, rdata = (QTYPE.AAAA, AAAA(ip)) if v6 else (QTYPE.A, A(ip))
                    records.append(RR(fqdn, rtype, rdata=rdata, ttl=TTL))
        if qtype in (QTYPE.SRV, QTYPE.ANY):
            for srv in names.services.get(name, []):
                data = SRV(priority=0, weight=100, port=srv.port, target=srv.target + ".")
                records.append(RR(fqdn, QTYPE.SRV, rdata=data, ttl=TTL))
        if qtype in (QTYPE.PTR, QTYPE.ANY) and name in names.pointers:
            records.append(RR(fqdn, QTYPE.PTR, rdata=PTR(names.pointers[name] + "."), ttl=TTL))
        return records
