"""Apache Kafka in KRaft mode, run from jars resolved from Maven Central.

The tests, the broker-failure chaos drill and ``gridflow bench --broker kafka`` run on the
broker gridflow is deployed on, not only on the embedded one (gridflow/broker.py). The
jars come from ``deploy/kafka/pom.xml`` (``org.apache.kafka:kafka_2.13`` and its runtime
dependencies plus a Log4j 2 backend), copied by Maven into a cache directory outside the
repository (``~/.cache/gridflow/kafka/<version>/lib``) by ``deploy/kafka/fetch.sh``, which
the set-up step (``make tools``) runs. Storage is formatted with Kafka's own StorageTool.

A :class:`KafkaCluster` is one node (combined broker and controller, for the suite and
the bench) or three (three voters of the KRaft quorum, each also a broker, for failure
drills); every node listens on loopback ports, logs to a file in its directory, has a
bounded heap, dies with its parent (``PR_SET_PDEATHSIG``) and can be SIGKILLed and
restarted on its own data.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from gridflow.broker import free_port, metadata_ok
from gridflow.parent_death import killed_with_parent_in_own_group

#: The Apache Kafka release the project tests (deploy/kafka/pom.xml, docker-compose.yml
#: and deploy/k8s name the same one; tests/ops checks that they agree).
KAFKA_VERSION = "4.1.1"
#: Heap of one node: enough for the suite, the drill and the bench on a 2-core machine.
DEFAULT_HEAP = "512m"
#: The line Kafka logs once the broker is registered, unfenced and serving clients.
_STARTED = b"Kafka Server started"
_REPO_ROOT = Path(__file__).resolve().parent.parent
FETCH_SCRIPT = _REPO_ROOT / "deploy" / "kafka" / "fetch.sh"


class KafkaUnavailable(RuntimeError):
    """Apache Kafka cannot be run here (no Java, no jars); the message says what to do."""


class KafkaStartError(RuntimeError):
    """A Kafka node exited or did not become ready; the message names its log."""


def cache_dir(version: str = KAFKA_VERSION) -> Path:
    """Where the jars of ``version`` are cached (``GRIDFLOW_KAFKA_HOME`` overrides)."""
    override = os.environ.get("GRIDFLOW_KAFKA_HOME", "").strip()
    if override:
        return Path(override)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gridflow" / "kafka" / version


def lib_dir(version: str = KAFKA_VERSION) -> Path:
    """The directory holding the broker's jars."""
    return cache_dir(version) / "lib"


def java_binary() -> str | None:
    """``$JAVA_HOME/bin/java`` or ``java`` on PATH, or None."""
    home = os.environ.get("JAVA_HOME", "").strip()
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def unavailable_reason(version: str = KAFKA_VERSION) -> str | None:
    """Why Apache Kafka cannot run here, or None when it can."""
    if java_binary() is None:
        return (
            "no Java runtime (install default-jre-headless, Java 17 or newer, or run `make tools`)"
        )
    lib = lib_dir(version)
    if not (lib / f"kafka_2.13-{version}.jar").exists():
        return f"Apache Kafka {version} jars not in {lib} (run `make tools` to fetch them)"
    return None


def fetch_jars(version: str = KAFKA_VERSION) -> Path:
    """Fetch the broker's jars into :func:`lib_dir` with ``deploy/kafka/fetch.sh``."""
    lib = lib_dir(version)
    if (lib / f"kafka_2.13-{version}.jar").exists():
        return lib
    command = ["bash", str(FETCH_SCRIPT), version]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        raise KafkaUnavailable(f"{' '.join(command)} failed: {' | '.join(tail)}")
    return lib


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as Kafka's Uuid).

    One id in 64 would start with ``-``, which ``kafka-storage format --cluster-id`` reads
    as an option and refuses; Kafka's own ``Uuid.randomUuid`` draws again for the same reason.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
# The per-request and state-change chatter is the bulk of a broker's log and says nothing
# a drill needs.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


_signal_on_parent_death_and_own_group = killed_with_parent_in_own_group()


@dataclass
class KafkaNode:
    """One KRaft node (broker and controller in one JVM) with its own data directory."""

    node_id: int
    directory: Path
    host: str
    port: int
    controller_port: int
    heap: str = DEFAULT_HEAP
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log_offset: int = field(default=0, init=False)

    @property
    def address(self) -> str:
        """``host:port`` of this node's client listener."""
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        """Kafka's own log (Log4j); the JVM's stdout and stderr go to ``stdout.log``."""
        return self.directory / "server.log"

    @property
    def properties_path(self) -> Path:
        """The generated server.properties."""
        return self.directory / "server.properties"

    def write_config(self, voters: str, overrides: Mapping[str, str]) -> None:
        """Write server.properties and the Log4j 2 configuration of this node."""
        _ensure(self.directory / "data")
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{self.host}:{self.port},"
            f"CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.directory / "data"),
            **overrides,
        }
        self.properties_path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.directory / "log4j2.properties").write_text(
            _LOG4J2.format(log=self.log_path, level="INFO")
        )

    def _java(self, *args: str, heap: str | None = None) -> list[str]:
        java = java_binary()
        if java is None:
            raise KafkaUnavailable("no Java runtime")
        opts = [f"-Xms{heap}", f"-Xmx{heap}"] if heap else ["-Xmx256m"]
        return [
            java,
            *opts,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}",
            "-cp",
            str(lib_dir() / "*"),
            *args,
        ]

    def format_storage(self, cluster_id: str) -> subprocess.Popen[bytes]:
        """Start Kafka's StorageTool on this node's log dir (the caller waits)."""
        out = open(self.directory / "format.log", "wb")  # noqa: SIM115
        try:
            return subprocess.Popen(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    "--cluster-id",
                    cluster_id,
                    "--config",
                    str(self.properties_path),
                    "--ignore-formatted",
                ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_signal_on_parent_death_and_own_group,
            )
        finally:
            out.close()

    def start(self) -> None:
        """Start the JVM; :meth:`ready` tells when it serves clients."""
        if self.process is not None and self.process.poll() is None:
            return
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        out = open(self.directory / "stdout.log", "ab")  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                self._java("kafka.Kafka", str(self.properties_path), heap=self.heap),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_signal_on_parent_death_and_own_group,
            )
        finally:
            out.close()

    def ready(self) -> bool:
        """True once this start logged that the server started and the port answers."""
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                started = _STARTED in log.read()
        except OSError:
            return False
        return started and metadata_ok(self.host, self.port, timeout=1.0)

    def kill(self) -> None:
        """SIGKILL the node (a crash: no controlled shutdown, unflushed data lost)."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    def stop(self, timeout: float = 15.0) -> None:
        """Controlled shutdown (SIGTERM), SIGKILL after ``timeout`` seconds."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)

    @property
    def running(self) -> bool:
        """True while the JVM runs."""
        return self.process is not None and self.process.poll() is None


def node_settings(nodes: int) -> dict[str, str]:
    """Broker settings of a cluster of ``nodes``: production-like durability, test-sized.

    Internal topics are replicated to every node up to 3 with ``min.insync.replicas`` 2
    (as on a production cluster) once there are 3 nodes. Their partition counts are cut
    from 50 to 4: creating 50 partitions costs seconds on first use and says nothing
    about gridflow. ``message.max.bytes`` stays Kafka's default (about 1 MB), the limit
    gridflow's oversized-output handling is tested against.
    """
    replicas = min(nodes, 3)
    isr = min(replicas, 2)
    return {
        "num.partitions": "1",
        "default.replication.factor": str(replicas),
        "min.insync.replicas": str(isr),
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(isr),
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        # gridflow creates its topics; an auto-created topic would get the broker's
        # partition count, on which the workers refuse to start.
        "auto.create.topics.enable": "false",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.retention.check.interval.ms": "60000",
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": str(isr),
    }


@dataclass
class KafkaCluster:
    """``nodes`` combined KRaft nodes on loopback; a context manager or start/stop."""

    nodes: int = 1
    directory: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    heap: str = DEFAULT_HEAP
    startup_timeout: float = 180.0
    overrides: Mapping[str, str] = field(default_factory=dict)
    members: list[KafkaNode] = field(default_factory=list, init=False)
    _own_directory: bool = field(default=False, init=False)

    @property
    def bootstrap(self) -> str:
        """Comma list of every node's client address."""
        return ",".join(node.address for node in self.members)

    def node(self, node_id: int) -> KafkaNode:
        """The node with this id (1-based, as in ``node.id``)."""
        return self.members[node_id - 1]

    def start(self) -> KafkaCluster:
        """Format storage, start every node and wait until all serve clients."""
        if self.members:
            return self
        reason = unavailable_reason()
        if reason:
            raise KafkaUnavailable(reason)
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="gridflow-kafka-"))
            self._own_directory = True
        ports = [
            (self.port if (i == 0 and self.port) else free_port(self.host), free_port(self.host))
            for i in range(self.nodes)
        ]
        self.members = [
            KafkaNode(i + 1, self.directory / f"node-{i + 1}", self.host, p, c, heap=self.heap)
            for i, (p, c) in enumerate(ports)
        ]
        voters = ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in self.members)
        settings = {**node_settings(self.nodes), **self.overrides}
        for node in self.members:
            node.write_config(voters, settings)
        atexit.register(self.stop)
        cluster_id = new_cluster_id()
        formats = [node.format_storage(cluster_id) for node in self.members]
        for node, proc in zip(self.members, formats, strict=True):
            if proc.wait(timeout=120) != 0:
                raise KafkaStartError(
                    f"kafka.tools.StorageTool format failed for node {node.node_id}: "
                    f"{(node.directory / 'format.log').read_text(errors='replace')[-500:]}"
                )
        for node in self.members:
            node.start()
        self.wait_ready(self.members)
        return self

    def wait_ready(self, nodes: list[KafkaNode], timeout: float | None = None) -> None:
        """Poll until every node in ``nodes`` logged its start and answers metadata."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        waiting = list(nodes)
        while waiting:
            for node in list(waiting):
                if node.process is not None and node.process.poll() is not None:
                    code = node.process.returncode
                    self.stop()
                    raise KafkaStartError(
                        f"Kafka node {node.node_id} exited with code {code} at start; "
                        f"see {node.log_path} and {node.directory / 'stdout.log'}"
                    )
                if node.ready():
                    waiting.remove(node)
            if not waiting:
                return
            if time.monotonic() > deadline:
                names = ", ".join(str(n.node_id) for n in waiting)
                self.stop()
                raise KafkaStartError(f"Kafka node(s) {names} not ready in time; see their logs")
            time.sleep(0.2)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node."""
        self.node(node_id).kill()

    def restart(self, node_id: int, timeout: float | None = None) -> None:
        """Start a stopped or killed node on its data and wait until it serves clients."""
        node = self.node(node_id)
        node.start()
        self.wait_ready([node], timeout)

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL) and remove a directory we created."""
        members = [n for n in self.members if n.running]
        for node in members:
            if node.process is not None:
                node.process.terminate()
        for node in members:
            node.stop(timeout=15.0)
        if self._own_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self._own_directory = False

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
