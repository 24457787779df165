"""Is a new version of a published JSON Schema compatible with the last released one? FULL
compatibility as schema registries define it (Confluent's BACKWARD and FORWARD together), with the
tolerant reader every consumer is asked to be (unknown properties are ignored):

- backward: a consumer on the new schema reads every record written under the old one, so no
  property may become required or disappear, and no type, value set or bound may narrow;
- forward: a consumer still on the old schema reads every record written under the new one, so
  nothing it required may become optional, and no type, value set or bound may widen.

What stays compatible: a new optional property in an open object (the old schema does not say
`additionalProperties: false`: its readers ignore what they do not know), new events, new
descriptions, titles, examples. A property added to an object the old schema closed is breaking:
the consumers of the last release refuse the records that carry it. Anything else is a new event
version (".v2" beside ".v1"), never a change in place.
`breaking_changes(old, new)` names each break with its path; an empty list means compatible."""

from typing import Any

Schema = dict[str, Any]
# Keywords that constrain values: any change to one of them narrows or widens what is valid.
CONSTRAINTS = (
    "const",
    "enum",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "multipleOf",
)


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    return _Compare(old, new).node(old, new, "")


class _Compare:
    def __init__(self, old_root: Schema, new_root: Schema):
        self.roots = (old_root, new_root)
        self.seen: set[tuple[int, int]] = set()

    def resolve(self, node: Schema, side: int) -> Schema:
        while "$ref" in node:
            name = node["$ref"].removeprefix("#/$defs/")
            node = self.roots[side].get("$defs", {})[name]
        return node

    def node(self, old: Schema, new: Schema, path: str) -> list[str]:
        old, new = self.resolve(old, 0), self.resolve(new, 1)
        if (id(old), id(new)) in self.seen:  # a recursive definition already compared
            return []
        self.seen.add((id(old), id(new)))
        old_branches, new_branches = _branches(old), _branches(new)
        if len(old_branches) > 1 or len(new_branches) > 1:
            return self.alternatives(old_branches, new_branches, path)
        problems = []
        if _types(old) != _types(new):
            problems.append(f"{path or '(root)'}: type {_types(old)} became {_types(new)}")
        for keyword in CONSTRAINTS:
            if old.get(keyword) != new.get(keyword):
                problems.append(f"{path or '(root)'}: {keyword} {old.get(keyword)!r} became {new.get(keyword)!r}")
        if "items" in old or "items" in new:
            problems += self.node(old.get("items", {}), new.get("items", {}), f"{path}[]")
        if "properties" in old or "properties" in new:
            problems += self.properties(old, new, path)
        return problems

    def alternatives(self, old: list[Schema], new: list[Schema], path: str) -> list[str]:
        """anyOf / oneOf (pydantic writes an optional field as anyOf [X, null]): the same alternatives,
        each compatible with its counterpart; one added or removed widens or narrows the field."""
        old_keys = {_key(self.resolve(b, 0)): b for b in old}
        new_keys = {_key(self.resolve(b, 1)): b for b in new}
        if old_keys.keys() != new_keys.keys():
            return [f"{path or '(root)'}: alternatives {sorted(old_keys)} became {sorted(new_keys)}"]
        return [p for key in old_keys for p in self.node(old_keys[key], new_keys[key], path)]

    def properties(self, old: Schema, new: Schema, path: str) -> list[str]:
        problems = []
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        child = {name: f"{path}.{name}" if path else name for name in old_props.keys() | new_props.keys()}
        for name in sorted(old_props.keys() - new_props.keys()):
            problems.append(f"{child[name]}: removed")
        if old.get("additionalProperties", True) is False:
            for name in sorted(new_props.keys() - old_props.keys()):
                problems.append(f"{child[name]}: added to a closed object (consumers of the last release refuse it)")
        for name in sorted(new_required - old_required):
            problems.append(f"{child[name]}: newly required (records written before lack it)")
        for name in sorted((old_required - new_required) & new_props.keys()):
            problems.append(f"{child[name]}: no longer required (consumers of the old version expect it)")
        if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
            problems.append(f"{path or '(root)'}: closed to properties it used to allow")
        for name in sorted(old_props.keys() & new_props.keys()):
            problems += self.node(old_props[name], new_props[name], child[name])
        return problems


def _branches(node: Schema) -> list[Schema]:
    return list(node.get("anyOf") or node.get("oneOf") or [node])


def _types(node: Schema) -> list[str]:
    kinds = node.get("type", [])
    return sorted([kinds] if isinstance(kinds, str) else kinds)


def _key(node: Schema) -> str:
    """What tells one alternative from another: its type (object alternatives by their properties)."""
    if "properties" in node:
        return "object:" + ",".join(sorted(node["properties"]))
    if "const" in node:
        return f"const:{node['const']!r}"
    return "/".join(_types(node)) or "any"
