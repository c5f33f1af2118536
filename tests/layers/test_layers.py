"""The layers import one way: schemas ← core ← runtime ← agents, services and CLI; tools
stay out of the installed package."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from gridflow.commands import checkout_tools

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: Path) -> dict[str, set[str]]:
    """module path -> top-level-qualified names it imports (absolute imports only)."""
    out: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def _offending(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for module, names in _imports(ROOT / package).items():
        bad = sorted(n for n in names if n.split(".")[0] in forbidden or n.startswith(forbidden))
        if bad:
            found[module] = bad
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("schemas", ("gridflow", "agents", "tools", "faust", "aiokafka")),
        (
            "gridflow/core",
            ("gridflow.runtime", "gridflow.commands", "agents", "tools", "faust", "aiokafka"),
        ),
        ("gridflow/runtime", ("gridflow.commands", "agents", "tools", "faust")),
        ("agents", ("gridflow.commands", "tools")),
    ],
)
def test_a_layer_imports_only_the_layers_below(package: str, forbidden: tuple[str, ...]) -> None:
    assert _offending(package, forbidden) == {}


def test_nothing_installed_imports_the_tools() -> None:
    # gridflow.commands.checkout_tools loads them at run time, by path, from a checkout.
    for package in ("gridflow", "agents", "schemas"):
        assert _offending(package, ("tools",)) == {}


def test_the_wheel_leaves_the_tools_and_the_tests_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(include) == ["agents*", "gridflow*", "routing_rules*", "schemas*"]


@pytest.mark.parametrize("command", ["bench", "chaos"])
def test_a_tool_command_without_a_checkout_is_one_line_and_exit_2(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gridflow.cli import main

    monkeypatch.setattr(checkout_tools, "TOOLS_DIR", tmp_path / "tools")
    assert main([command]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"gridflow: gridflow {command} needs the tools/ directory")


@pytest.mark.parametrize("command", ["bench", "chaos"])
def test_a_tool_command_says_in_its_help_where_it_runs(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from gridflow.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "not in the wheel" in help_text and "exits 2" in help_text


def test_one_yaml_reader() -> None:
    # Every rules and reference file goes through gridflow.core.yaml_lines: one syntax,
    # one strictness (duplicate keys, merge keys), errors with file and line.
    readers = {"safe_load", "load", "compose", "safe_load_all", "load_all", "compose_all"}
    found = []
    for package in ("gridflow", "agents", "schemas", "tools"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "yaml_lines.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "yaml"
                    and node.attr in readers
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_topic_names_come_from_the_one_registry() -> None:
    from gridflow.topics import ALL_TOPICS

    found = []
    for package in ("gridflow", "agents", "schemas", "tools", "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "gridflow" / "topics.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value.endswith(ALL_TOPICS)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert found == []
