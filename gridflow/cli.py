"""``gridflow``: the one console script. Each subcommand lives in gridflow/commands/."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from gridflow import __version__
from gridflow.config import SettingsError

#: Subcommand modules, each exposing ``register(subparsers)``.
COMMANDS = (
    "gridflow.commands.demo",
    "gridflow.commands.worker",
    "gridflow.commands.broker",
    "gridflow.commands.topics",
    "gridflow.commands.simulate",
    "gridflow.commands.rules",
    "gridflow.commands.schemas",
    "gridflow.commands.classify_eval",
    "gridflow.commands.danger_eval",
    "gridflow.commands.bench",
    "gridflow.commands.chaos",
    "gridflow.commands.send",
    "gridflow.commands.tail",
    "gridflow.commands.dlq",
    "gridflow.commands.case",
    "gridflow.commands.alert_inbox",
    "gridflow.commands.api",
    "gridflow.commands.silence",
)

DESCRIPTION = """\
gridflow merges grid events from every department's network (多网合一) into one case
per incident, routes it to the lowest tier of command centre that can handle it and
escalates it up (village → town → county → city) when nobody acts in time.

Every command reads GRIDFLOW_* settings from the environment (or a file named by
GRIDFLOW_CONFIG); an unknown GRIDFLOW_* variable or key is an error. GRIDFLOW_KAFKA_BOOTSTRAP
points at a Kafka cluster; without it `demo`, `bench` and `chaos` start the embedded
broker, and `worker` starts only with --embedded. Errors are one line on stderr, exit 2."""

EPILOG = """\
examples:
  gridflow demo --duration 60          live demo on the embedded broker
  gridflow broker                      run the embedded broker alone
  GRIDFLOW_KAFKA_BOOTSTRAP=host:9092 gridflow worker
  gridflow simulate --rate 200 --duration 30 --centres
  gridflow rules check                 the rules in GRIDFLOW_RULES (default: the bundled ones)
  gridflow tail grid.dispositions --since 10m   what the workers are telling the centres
  gridflow dlq list --since 1d                  what was refused, by reason
  gridflow case 500103001003-1a2b3c4d5e6f       one case's state and timeline
  gridflow api                         the HTTP API (docs/api.md)
  gridflow silence list                屏蔽: silences for known matters (docs/silences.md)
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="gridflow",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gridflow {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a subcommand not built yet; the others still work
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridflow`` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = args.func(args)
        # Flushed here, not at exit: a reader that went away (| head) is reported below.
        sys.stdout.flush()
    except ValidationError as exc:
        if exc.title not in ("Settings", "ApiSettings"):
            raise
        return _fail(settings_error_text(exc))
    except SettingsError as exc:
        return _fail(f"gridflow: {exc}")
    except BrokenPipeError:
        # Nothing more can reach stdout; keep the interpreter's last flush from failing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _fail("gridflow: output closed early (broken pipe); stopped")
    except KafkaError as exc:
        return _fail(f"gridflow: Kafka: {exc}")
    return int(code or 0)


def _fail(line: str) -> int:
    print(line, file=sys.stderr)
    return 2


def settings_error_text(exc: ValidationError) -> str:
    """One line naming each invalid ``GRIDFLOW_*`` setting, its value and what is wrong."""
    source = os.environ.get("GRIDFLOW_CONFIG")
    where = f"the environment or {source}" if source else "the environment"
    problems = []
    prefix = "GRIDFLOW_API_" if exc.title == "ApiSettings" else "GRIDFLOW_"
    for error in exc.errors():
        name = prefix + "_".join(str(part) for part in error["loc"]).upper()
        # Secrets are never echoed back.
        shown = "***" if "PASSWORD" in name else repr(error.get("input"))
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}={shown}: {message}")
    return f"gridflow: invalid settings (from {where}): " + "; ".join(problems)


if __name__ == "__main__":
    sys.exit(main())
