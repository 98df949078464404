"""Read YAML with positions: a SafeLoader that remembers where every key and value sits.

Owns turning rule and rule-test files into plain data plus a map from data paths to (line, col), and
reporting duplicate keys (YAML would silently keep the last one). It must not validate meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["Located", "Position", "read_yaml"]

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Position:
    """1-based line and column, and the scalar style (for offsets inside expressions)."""

    line: int
    col: int
    style: str | None = None


@dataclass
class Located:
    """Parsed data, the positions of keys and values by path, and duplicate-key problems."""

    data: Any
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)
    duplicates: list[tuple[Position, str, Path_]] = field(default_factory=list)

    def where(self, path: Path_, *, key: bool = False) -> Position:
        """The position of ``path`` (its key when asked), else of its nearest located parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Position(1, 1))


def _pos(node: yaml.Node) -> Position:
    style = getattr(node, "style", None)
    return Position(node.start_mark.line + 1, node.start_mark.column + 1, style)


def _walk(node: yaml.Node, path: Path_, out: Located, loader: yaml.SafeLoader) -> Any:
    out.values[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if key in result:
                out.duplicates.append((_pos(key_node), f"duplicate key '{key}'", path))
            out.keys[(*path, key)] = _pos(key_node)
            result[key] = _walk(value_node, (*path, key), out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, (*path, i), out, loader) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def read_yaml(text: str) -> Located:
    """Parse one YAML document; raise ``yaml.YAMLError`` (with a mark) when it is not YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        out = Located(data=None)
        if node is not None:
            out.data = _walk(node, (), out, loader)
        return out
    finally:
        loader.dispose()
