"""The compatibility rules of the schema gate, change by change (``schema.check`` applies them).

The rules follow a schema registry's BACKWARD mode (consumers are rolled out first, then producers):

| change | arguments | result |
| --- | --- | --- |
| optional field (with a default) added | compatible | compatible |
| required field added | breaking | compatible |
| field removed or renamed | breaking | breaking |
| field became required | breaking | compatible |
| field became optional | compatible | breaking |
| type widened (int -> int or null) | compatible | breaking |
| type narrowed or changed | breaking | breaking |
| constraint relaxed (max up, min down, enum value added) | compatible | breaking |
| constraint tightened | breaking | compatible |

Progress flows like the result (the worker writes it, the caller reads it), so its changes
follow the result column; adding a Progress model is compatible, removing it is breaking.

A breaking change is allowed only together with a version bump; a consumer then parks
messages of versions it does not accept, and they are replayed once it is upgraded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Side = Literal["args", "result", "progress"]
Verdict = Literal["compatible", "breaking"]

LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


@dataclass(frozen=True)
class Change:
    """One difference between a snapshot and the live contract."""

    contract: str
    side: Side
    path: str
    rule: str
    verdict: Verdict

    def describe(self) -> str:
        """A line naming the contract, the field and the rule."""
        where = f"{self.side} field {self.path!r}" if self.path else self.side
        return f"{self.contract}: {where}: {self.rule} ({self.verdict})"


def _breaking(side: Side, breaking_for: set[Side]) -> Verdict:
    """The verdict of a change on one side; progress is read by the caller, so it is judged like the result."""
    judged_as: Side = "result" if side == "progress" else side
    return "breaking" if judged_as in breaking_for else "compatible"


def compare_progress(name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[Change]:
    """Changes of the progress model (older snapshots have no ``progress`` key: no model)."""
    if old is None and new is None:
        return []
    if old is None:
        return [Change(name, "progress", "", "progress model added", "compatible")]
    if new is None:
        return [Change(name, "progress", "", "progress model removed", "breaking")]
    return compare_model(name, "progress", old, new, old, new, "")


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local $ref into the root's $defs."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = root.get("$defs", {}).get(ref.split("/")[-1], {})
        return resolved
    return schema


def _variants(schema: Mapping[str, Any], root: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alternatives of a field's schema (anyOf/oneOf members, else the schema itself)."""
    schema = _resolve(schema, root)
    members = schema.get("anyOf") or schema.get("oneOf")
    if members:
        return [_resolve(member, root) for member in members]
    return [schema]


def _type_names(schema: Mapping[str, Any], root: Mapping[str, Any]) -> set[str]:
    names = set()
    for variant in _variants(schema, root):
        kind = variant.get("type")
        if "enum" in variant or "const" in variant:
            names.add("enum")
        elif isinstance(kind, list):
            names.update(kind)
        elif kind:
            names.add(str(kind) + (f":{variant['format']}" if "format" in variant else ""))
        elif variant.get("properties") is not None:
            names.add("object")
        else:
            names.add("any")
    if "integer" in names and "number" in names:
        names.discard("integer")
    return names


def compare_model(
    contract: str,
    side: Side,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
    prefix: str,
) -> list[Change]:
    """Every change between two versions of one model's schema (fields, requiredness, types, constraints)."""
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
    changes = []

    def change(path: str, rule: str, breaking_for: set[Side]) -> None:
        changes.append(Change(contract, side, path, rule, _breaking(side, breaking_for)))

    for field in sorted(set(old_fields) - set(new_fields)):
        change(prefix + field, "field removed or renamed", {"args", "result"})
    for field in sorted(set(new_fields) - set(old_fields)):
        if field in new_required:
            change(prefix + field, "required field added", {"args"})
        else:
            change(prefix + field, "optional field added", set())
    for field in sorted(set(old_fields) & set(new_fields)):
        path = prefix + field
        if field in new_required and field not in old_required:
            change(path, "field became required", {"args"})
        elif field in old_required and field not in new_required:
            change(path, "field became optional", {"result"})
        changes += _compare_field(contract, side, path, old_fields[field], new_fields[field], old_root, new_root)
    return changes


def _compare_field(
    contract: str,
    side: Side,
    path: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_root: Mapping[str, Any],
    new_root: Mapping[str, Any],
) -> list[Change]:
    def one(rule: str, breaking_for: set[Side]) -> list[Change]:
        return [Change(contract, side, path, rule, _breaking(side, breaking_for))]

    old_types, new_types = _type_names(old, old_root), _type_names(new, new_root)
    if old_types != new_types:
        if old_types < new_types:
            return one(f"type widened from {sorted(old_types)} to {sorted(new_types)}", {"result"})
        if new_types < old_types:
            return one(f"type narrowed from {sorted(old_types)} to {sorted(new_types)}", {"args", "result"})
        return one(f"type changed from {sorted(old_types)} to {sorted(new_types)}", {"args", "result"})
    changes: list[Change] = []
    old_variants, new_variants = _variants(old, old_root), _variants(new, new_root)
    for old_v, new_v in zip(old_variants, new_variants, strict=False):
        changes += _compare_constraints(contract, side, path, old_v, new_v)
        if "properties" in old_v or "properties" in new_v:
            changes += compare_model(contract, side, old_v, new_v, old_root, new_root, path + ".")
        if isinstance(old_v.get("items"), Mapping) and isinstance(new_v.get("items"), Mapping):
            changes += _compare_field(contract, side, path + "[]", old_v["items"], new_v["items"], old_root, new_root)
    return changes


def _compare_constraints(
    contract: str, side: Side, path: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Change]:
    relaxed: list[str] = []
    tightened: list[str] = []
    for key in LOWER_BOUNDS + UPPER_BOUNDS:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        lower = key in LOWER_BOUNDS
        if after is None or (before is not None and (after < before if lower else after > before)):
            relaxed.append(f"{key} {before} -> {after}")
        else:
            tightened.append(f"{key} {before} -> {after}")
    if old.get("pattern") != new.get("pattern"):
        (relaxed if new.get("pattern") is None else tightened).append(
            f"pattern {old.get('pattern')!r} -> {new.get('pattern')!r}"
        )
    old_enum, new_enum = old.get("enum"), new.get("enum")
    if old_enum is not None and new_enum is not None and set(map(str, old_enum)) != set(map(str, new_enum)):
        if set(map(str, old_enum)) <= set(map(str, new_enum)):
            relaxed.append(f"enum values added: {sorted(set(map(str, new_enum)) - set(map(str, old_enum)))}")
        else:
            tightened.append(f"enum values removed: {sorted(set(map(str, old_enum)) - set(map(str, new_enum)))}")
    changes = []
    if relaxed:
        verdict = _breaking(side, {"result"})
        changes.append(Change(contract, side, path, "constraint relaxed: " + "; ".join(relaxed), verdict))
    if tightened:
        verdict = _breaking(side, {"args"})
        changes.append(Change(contract, side, path, "constraint tightened: " + "; ".join(tightened), verdict))
    return changes
