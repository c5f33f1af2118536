"""One-line errors for the on-call commands: what went wrong, on stderr, exit 2."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable

from aiokafka.errors import KafkaError

from gridflow.core.durations import DurationError
from gridflow.core.load_errors import ConfigLoadError

#: Exit status of every refused command (bad arguments, unreachable broker, bad input).
EXIT_ERROR = 2


class OpsError(Exception):
    """A refusal to report to the person at the terminal as one line."""


def one_line_errors(
    command: str,
) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Turn the errors an operator can cause into one stderr line and exit 2.

    Only the expected failures are caught (our refusals, Kafka, files, durations); a bug
    still shows its traceback, because hiding it would make it unfixable.
    """

    def wrap(func: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(func)
        def run(*args: object, **kwargs: object) -> int:
            # aiokafka logs every failed connection attempt; with no logging set up they
            # would reach stderr as extra lines. The failure that matters is raised.
            logging.getLogger("aiokafka").addHandler(logging.NullHandler())
            try:
                return func(*args, **kwargs)
            except KeyboardInterrupt:
                return 130
            except BrokenPipeError:
                # `gridflow tail ... | head`: the reader has what it wanted. Point stdout
                # at /dev/null so the interpreter's final flush does not complain.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 0
            except (OpsError, DurationError, ConfigLoadError) as exc:
                message = str(exc)
            except KafkaError as exc:
                text = str(exc)
                name = type(exc).__name__
                message = f"Kafka: {text if text.startswith(name) else f'{name}: {text}'}"
            except OSError as exc:
                message = f"{exc.strerror or type(exc).__name__}: {exc.filename or exc}"
            print(f"gridflow {command}: {' '.join(message.split())}", file=sys.stderr)
            return EXIT_ERROR

        return run

    return wrap
