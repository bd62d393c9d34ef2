"""What the page says, found in the code: label keys (I18N("key") in app.py and textgen/page) and message templates
(English, passed to an error class, to translate() or to a view's say())."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MESSAGE_CALLS = {
    "TextgenError", "CorpusError", "CheckpointError", "HubError", "GenerationError", "TrainingError",
    "translate", "say", "_say", "whole_number", "finite_number", "check_speaker", "text_value",
}  # fmt: skip
MESSAGE_ARGUMENT = {"whole_number": 1, "finite_number": 1, "check_speaker": 2, "text_value": 1}  # the template
MESSAGE_TABLES = {"REMOVED"}  # dicts of (one, many) templates, by kind


def called_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def constants(node: ast.AST) -> list[str]:
    """A string argument's possible values: a constant, or each branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return constants(node.body) + constants(node.orelse)
    if isinstance(node, ast.Call) and called_name(node) == "plural":  # plural(count, one, many)
        return [value for argument in node.args[1:] for value in constants(argument)]
    return []


def python_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "textgen").rglob("*.py"))]


def label_keys() -> set[str]:
    keys = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and called_name(node) == "I18N" and node.args:
                keys.update(constants(node.args[0]))
    return keys


def message_templates() -> set[str]:
    templates = set()
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = called_name(node)
            position = MESSAGE_ARGUMENT.get(name, 0)
            if name in MESSAGE_CALLS and len(node.args) > position:
                templates.update(constants(node.args[position]))
            if name == "plural":  # plural(count, one, many): both are templates, wherever they go
                templates.update(constants(node))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) in MESSAGE_TABLES for t in node.targets
            ):
                for value in node.value.values if isinstance(node.value, ast.Dict) else []:
                    for item in value.elts if isinstance(value, ast.Tuple) else [value]:
                        templates.update(constants(item))
    return templates
