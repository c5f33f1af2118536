"""Progress of reading a topic to its end, on stderr, for people only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gridflow.ops.topic_reader import Progress as ProgressCallback


@contextmanager
def reading(label: str) -> Iterator[ProgressCallback]:
    """A callback for :meth:`TopicReader.to_end` that draws a bar while stderr is a terminal.

    Nothing is drawn into a pipe or a log: a bar there is noise, and ``--json`` on stdout
    stays clean either way.
    """
    console = Console(stderr=True)
    if not (sys.stderr.isatty() and console.is_terminal):
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
