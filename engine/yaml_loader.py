"""What a YAML document means to flowctl: the one safe loader every reader uses.

libyaml's CSafeLoader, with keys that must be text (a plain `on:` is the key "on"),
duplicate keys refused with their position, `id: 010` kept as the text "010", dates
kept as ISO strings (so a YAML deal and a JSON deal mean the same thing), and values
whose meaning depends on YAML 1.1 (`1:30:00`, `yes`) noted as `surprises`.
"""
from __future__ import annotations

import warnings
from typing import Any

import yaml

from .yaml11 import surprise

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
if not getattr(yaml, "__with_libyaml__", False):  # pragma: no cover - depends on the build
    warnings.warn(
        "PyYAML was built without libyaml: flowctl will parse about 7x slower. "
        "Install a PyYAML wheel with libyaml (pip install --force-reinstall PyYAML).",
        RuntimeWarning,
        stacklevel=2,
    )

TIMESTAMP = "tag:yaml.org,2002:timestamp"
BOOL = "tag:yaml.org,2002:bool"
STR = "tag:yaml.org,2002:str"
MERGE = "tag:yaml.org,2002:merge"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"
NULL = "tag:yaml.org,2002:null"


class DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class KeyTypeError(DuplicateKeyError):
    """A key that YAML reads as null, a boolean, a number or a date: every key flowctl
    knows is text, and code that meets such a key (sorting, messages) would fail."""


def key_type_error(key_node: yaml.Node, key: Any) -> KeyTypeError:
    what = "null" if key is None else type(key).__name__.replace("bool", "a boolean").replace("int", "a number").replace("float", "a number")
    return KeyTypeError(None, None, f"a key must be text: `{key_node.value}` is read as {what}; quote it", key_node.start_mark)


def keep_id_text(key_node: yaml.Node, value_node: yaml.Node) -> None:
    """`id: 010` is the id "010" (SPEC section 1), whatever YAML 1.1 makes of it."""
    if (key_node.value == "id" and value_node.__class__ is yaml.ScalarNode and not value_node.style
            and value_node.tag not in (STR, NULL) and value_node.tag.startswith("tag:yaml.org,2002:")
            and value_node.value):
        value_node.tag = STR


class Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that refuses duplicate keys and keeps dates as ISO strings."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }

    if not _BaseLoader.yaml_path_resolvers and None not in yaml_implicit_resolvers:
        def resolve(self, kind: type, value: Any, implicit: Any) -> str:
            """BaseResolver.resolve without what safe loading never has (path and
            wildcard resolvers): libyaml calls it for every value of every file."""
            if kind is yaml.ScalarNode:
                if implicit[0]:
                    for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                        if regexp.match(value):
                            return tag
                return STR
            return MAP if kind is yaml.MappingNode else SEQ

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.surprises: list[tuple[int, int, str]] = []  # (line, column, why), 1-based

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        own = list(node.value)  # the keys written here, before `<<` merges add any
        merges = False
        for key_node, value_node in own:
            tag = key_node.tag
            if tag == BOOL and not key_node.style:
                key_node.tag = STR  # YAML 1.1 reads a plain `on:` key as true; in a workflow it means "on"
            elif tag == MERGE:
                merges = True
            elif key_node.__class__ is yaml.ScalarNode and tag != STR:
                raise key_type_error(key_node, self.construct_object(key_node))
            keep_id_text(key_node, value_node)
        mapping = super().construct_mapping(node, deep=deep)
        if merges or len(mapping) < len(own):
            self._refuse_duplicates(own)
        return mapping

    def _refuse_duplicates(self, pairs: list) -> None:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in pairs:
            if key_node.tag == MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            first = seen.get(key)
            if first is not None:
                raise DuplicateKeyError(
                    None, None, f"duplicate key {key!r} (first defined on line {first.start_mark.line + 1})",
                    key_node.start_mark)
            seen[key] = key_node


def _construct_timestamp_as_str(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


Loader.add_constructor(TIMESTAMP, _construct_timestamp_as_str)


def _noting_surprises(tag: str) -> None:
    """Wrap the constructor of `tag` so that YAML 1.1-only forms are noted as warnings."""
    base = _BaseLoader.yaml_constructors[tag]

    def construct(loader: Loader, node: yaml.ScalarNode) -> Any:
        value = base(loader, node)
        if not node.style:
            why = surprise(node.value, value)
            if why:
                loader.surprises.append((node.start_mark.line + 1, node.start_mark.column + 1, why))
        return value

    Loader.add_constructor(tag, construct)


for _tag in (BOOL, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
    _noting_surprises(_tag)

