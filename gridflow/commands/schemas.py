"""``gridflow schemas``: write the JSON Schema files generated from the message models."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
from pydantic import BaseModel

import schemas as models

SCHEMA_DIR = Path(models.__file__).resolve().parent
#: Message model -> file name of its JSON Schema.
EXPORTED: dict[str, type[BaseModel]] = {
    "grid_event.schema.json": models.GridEvent,
    "feedback.schema.json": models.Feedback,
    "disposition.schema.json": models.Disposition,
    "rejection.schema.json": models.Rejection,
    "merge_metrics.schema.json": models.MergeMetrics,
    "rules_bundle.schema.json": models.RulesBundle,
    "silence.schema.json": models.Silence,
}


def render(model: type[BaseModel]) -> bytes:
    """The JSON Schema of ``model`` as committed (sorted keys, indented, newline)."""
    schema = model.model_json_schema(mode="validation")
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``schemas`` subcommand."""
    p = sub.add_parser(
        "schemas",
        help="export the JSON Schema of every message to schemas/",
        description="Regenerate schemas/*.schema.json from the pydantic models. A test fails "
        "when the committed files drift from the models.",
    )
    p.add_argument("action", choices=["export", "check"])
    p.add_argument("--dir", type=Path, default=SCHEMA_DIR)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write or compare the schema files."""
    stale = []
    for name, model in EXPORTED.items():
        path = args.dir / name
        data = render(model)
        if args.action == "export":
            path.write_bytes(data)
            print(f"wrote {path}")
        elif not path.exists() or path.read_bytes() != data:
            stale.append(name)
    if stale:
        print(f"stale schema files: {', '.join(stale)} (run: gridflow schemas export)")
        return 1
    return 0
