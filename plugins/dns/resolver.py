"""One query in, one answer out, from :class:`~.records.Names`; no sockets.

Names inside the cluster zone (and the reverse zones of ClusterIPs) are
answered here: the records, NODATA for a name that exists without records
of the asked type, NXDOMAIN for the rest. ``answer`` returns ``None`` for
names outside, which the server forwards to the node's resolvers, except
``<svc>.<ns>`` and ``<svc>.<ns>.svc`` of an existing Service (a CNAME to
its full name).
"""

from __future__ import annotations

import ipaddress

from dnslib import AAAA, CNAME, PTR, QTYPE, RCODE, RR, SRV, A, DNSRecord
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
        alias = self._namespaced(name)
        if alias is not None:
            return self._alias(query, alias)
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

    def _namespaced(self, name: str) -> str | None:
        """``web.other`` or ``web.other.svc`` when the Service ``web`` of
        namespace ``other`` exists: the names the agent's hosts entries give
        too. Resolvers that try the search path only for names without a dot
        (busybox's nslookup) then still find ``<svc>.<ns>``. A real domain of
        that shape is shadowed only while such a Service exists."""
        labels = name.split(".")
        if len(labels) == 3 and labels[2] == "svc":
            labels = labels[:2]
        if len(labels) != 2:
            return None
        full = f"{labels[0]}.{labels[1]}.svc.{self.zone}"
        return full if full in self.names.service_names else None

    def _alias(self, query: DNSRecord, full: str) -> DNSRecord:
        reply = query.reply()
        reply.add_answer(RR(query.q.qname, QTYPE.CNAME, rdata=CNAME(full + "."), ttl=TTL))
        for rr in self._records(full, query.q.qtype):
            reply.add_answer(rr)
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
