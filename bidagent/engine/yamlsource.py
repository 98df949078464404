"""Read YAML with positions: a SafeLoader that remembers where every key and value sits.

Owns turning rule and rule-test files into plain data plus a map from data paths to (line, col), and
reporting duplicate keys (YAML would silently keep the last one). It must not validate meaning.

It also bounds what a file can cost, before and while parsing, so no input can exhaust the
process: text over :data:`MAX_YAML_CHARS` is refused unread; anchors and aliases are refused
outright (a rule file has no use for them, and refusing them is the only sure defence against
alias bombs and self-referencing aliases, whose expansion is exponential or infinite); nesting
deeper than :data:`MAX_NESTING` is refused while composing (the composer recurses, so this is
what keeps a ``[[[[...`` file from a RecursionError); an integer longer than
:data:`MAX_INT_DIGITS` characters, or any scalar the YAML constructors cannot build (``2024-02-30``),
is a problem at its position. Each refusal is a :class:`RefusedYaml` with a mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["MAX_INT_DIGITS", "MAX_NESTING", "MAX_YAML_CHARS", "Located", "Position", "RefusedYaml",
           "read_yaml"]  # fmt: skip

MAX_YAML_CHARS = 2_000_000  # a 5,000-rule file is about 1 MB; parsed, 2 MB stays under ~200 MB
MAX_NESTING = 64  # a rule is 4 levels deep; the composer recurses about 3 frames per level
MAX_INT_DIGITS = 100  # far past any count or money; Python refuses int() of 4,300 digits

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


class RefusedYaml(yaml.MarkedYAMLError):
    """A file that is YAML but that rule files do not allow (size, aliases, nesting, a value)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _PythonParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's own event parser, for an install without libyaml."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# libyaml's event parser when present (the pure-Python scanner takes ~10 s over a 5,000-rule
# file); the composer is PyYAML's Python one either way, because that is where the caps live.
_Parser: Any = getattr(yaml, "cyaml", None) and getattr(yaml.cyaml, "CParser", None)
_Parser = _Parser or _PythonParser


class _BoundedLoader(
    yaml.composer.Composer,
    _Parser,  # type: ignore[misc]
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """SafeLoader without anchors or aliases, with a nesting cap and a digit cap on integers."""

    def __init__(self, text: str) -> None:
        _Parser.__init__(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise RefusedYaml(
                "anchors and aliases (&name, *name, <<) are not allowed in rule files",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise RefusedYaml(f"nested deeper than {MAX_NESTING} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if len(str(node.value)) > MAX_INT_DIGITS:
            raise RefusedYaml(f"integer longer than {MAX_INT_DIGITS} digits", node.start_mark)
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _construct(loader: _BoundedLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. a date that does not exist
        raise RefusedYaml(f"cannot read value: {exc}", node.start_mark) from None


def _pos(node: yaml.Node) -> Position:
    style = getattr(node, "style", None)
    return Position(node.start_mark.line + 1, node.start_mark.column + 1, style)


def _walk(node: yaml.Node, path: Path_, out: Located, loader: _BoundedLoader) -> Any:
    out.values[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(loader, key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            if key in result:
                out.duplicates.append((_pos(key_node), f"duplicate key '{key}'", path))
            out.keys[(*path, key)] = _pos(key_node)
            result[key] = _walk(value_node, (*path, key), out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, (*path, i), out, loader) for i, child in enumerate(node.value)]
    return _construct(loader, node)


def read_yaml(text: str) -> Located:
    """Parse one YAML document; raise ``yaml.YAMLError`` (with a mark) when it is not YAML, or
    :class:`RefusedYaml` when it is YAML that rule files do not allow (see the module docstring)."""
    if len(text) > MAX_YAML_CHARS:
        raise RefusedYaml(f"file longer than {MAX_YAML_CHARS:,} characters", None)
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        out = Located(data=None)
        if node is not None:
            out.data = _walk(node, (), out, loader)
        return out
    finally:
        loader.dispose()
