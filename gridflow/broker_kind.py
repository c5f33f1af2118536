"""Which broker a bootstrap address reaches: Apache Kafka, the embedded broker, or unknown.

The embedded broker (Tansu) needs workarounds that Apache Kafka does not (its ListOffsets
answer is wrong across batches, its transactions are unusable: PITFALLS.md), and
exactly-once is only offered where transactions work. The broker says what it is in its
ApiVersions answer: Apache Kafka implements the replication and KRaft quorum APIs
OffsetForLeaderEpoch (23), WriteTxnMarkers (27) and DescribeQuorum (55); the embedded
broker, a single node that keeps no replicas, lists none of them.
"""

from __future__ import annotations

import socket
import struct
from enum import StrEnum

_API_VERSIONS = 18
_APACHE_KAFKA_APIS = frozenset({23, 27, 55})


class BrokerKind(StrEnum):
    """What answered at the bootstrap address."""

    APACHE_KAFKA = "apache-kafka"
    EMBEDDED = "embedded"
    #: Not reachable with a plaintext probe (TLS/SASL, or down): assume the worst.
    UNKNOWN = "unknown"


def api_keys(host: str, port: int, timeout: float = 2.0) -> frozenset[int]:
    """The API keys a broker lists in its ApiVersions (v0) answer."""
    client_id = b"gridflow-probe"
    body = struct.pack(">hhih", _API_VERSIONS, 0, 11, len(client_id)) + client_id
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        data = _recv_exact(sock, size)
    _correlation, error, count = struct.unpack(">ihi", data[:10])
    if error:
        raise OSError(f"ApiVersions answered error {error}")
    return frozenset(
        struct.unpack(">h", data[10 + 6 * i : 12 + 6 * i])[0] for i in range(max(count, 0))
    )


def probe_broker_kind(bootstrap: str, security_protocol: str = "PLAINTEXT") -> BrokerKind:
    """Ask the first broker of ``bootstrap`` that answers which kind it is."""
    if security_protocol != "PLAINTEXT":
        return BrokerKind.UNKNOWN
    for address in (a.strip() for a in bootstrap.split(",") if a.strip()):
        host, _, port = address.rpartition(":")
        try:
            keys = api_keys(host or "127.0.0.1", int(port))
        except (OSError, ValueError, struct.error):
            continue
        return BrokerKind.APACHE_KAFKA if keys >= _APACHE_KAFKA_APIS else BrokerKind.EMBEDDED
    return BrokerKind.UNKNOWN


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data
