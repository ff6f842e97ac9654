"""Load site config files and turn every problem into one line a technician can act on.

Output lines have the form ``FILE: key.path: what was expected, found X``. A daemon calls
``load_config`` before it touches any device, so a bad file stops it with the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from careedge_common.config import SiteConfig

_MAX_FOUND = 60

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(Exception):
    """The file is unusable; ``problems`` holds one formatted line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a technician's copy-paste slip must be an error."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_config(path: Path) -> SiteConfig:
    """Parse and validate one file; raise ``ConfigError`` listing every problem found."""
    return load_yaml_model(path, SiteConfig)


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse one YAML file into ``model`` (site config, a device profile); raise ``ConfigError``
    with one ``FILE: key.path: expected, found`` line per problem."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{name}: (file): a readable UTF-8 YAML file, found {exc}"]) from exc
    return parse_yaml_model(text, name, model)


def parse_config(text: str, name: str) -> SiteConfig:
    """Validate YAML text that did not come from a file (a signed bundle); ``name`` heads each line."""
    return parse_yaml_model(text, name, SiteConfig)


def parse_yaml_model(text: str, name: str, model: type[ModelT]) -> ModelT:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: (yaml): {_describe_yaml_error(exc)}"]) from exc
    if not isinstance(data, dict):
        raise ConfigError([f"{name}: (root): a mapping of sections, found {_short(data)}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(list(_format_errors(name, data, exc))) from exc


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"valid YAML, found {problem}{where}"


def _format_errors(name: str, data: dict[str, Any], exc: ValidationError) -> Iterable[str]:
    for error in exc.errors(include_url=False):
        path = _key_path(data, error["loc"])
        yield f"{name}: {path or '(root)'}: {_expected_and_found(error)}"


def _key_path(data: Any, loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as the YAML key path, dropping union tags the file never wrote."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue
        parts.append(f".{part}" if parts else part)
        node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts)


def _expected_and_found(error: Any) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "missing":
        return "a value (required key), found nothing"
    if kind == "extra_forbidden":
        return f"no such key (unknown keys are errors), found {_short(error['input'])}"
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    elif message.startswith("String should match pattern "):
        message = "a string matching " + message.removeprefix("String should match pattern ")
    elif message.startswith("Input should be "):
        message = "a value that is " + message.removeprefix("Input should be ")
    if ", found " in message:
        return message
    return f"{message}, found {_short(error['input'])}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_FOUND else text[: _MAX_FOUND - 3] + "..."
