"""OpenAPI 3.0 schemas turned into strict JSON Schema (draft 4), and the validators built once.

Why ``jsonschema`` and not ``openapi-core``: one small dependency (openapi-core pulls in a
dozen), and the contract needs control that a full OpenAPI validator hides: every object is
closed (``additionalProperties: false`` unless the spec allows extras), ``allOf`` is flattened
so a closed parent does not refuse its child's fields, and the allow-list
(:mod:`contract.allowances`) is applied where we decide, with a comment for each entry.

The converter:

- ``nullable: true`` becomes a type list with ``"null"`` (and ``None`` among the enum values);
- an object schema without ``additionalProperties`` gets ``additionalProperties: false``;
- ``allOf`` members (usually ``$ref`` to a parent) are merged into one closed object;
- ``discriminator``, ``example``, ``xml`` and other annotations are dropped;
- ``$ref: #/components/schemas/X`` stays a reference, resolved against the converted document
  through a :class:`referencing.Registry` (one resource per spec file).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "specs"
SPEC_FILES = {
    "sp": "SponsoredProducts_prod_3p.json",
    "reporting": "OfflineReport_prod_3p.json",
    "profiles": "Profiles_prod_3p.yaml",
}
_DROP = {
    "discriminator",
    "example",
    "examples",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
    "title",
    "description",
    "default",
    "format",
}


def _uri(spec: str) -> str:
    return f"urn:bidagent-contract:{spec}"


@cache
def load_spec(spec: str) -> dict[str, Any]:
    """The raw OpenAPI document (YAML status keys made strings)."""
    path = SPECS / SPEC_FILES[spec]
    text = path.read_text(encoding="utf-8")
    raw: dict[str, Any] = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    for ops in raw["paths"].values():
        for op in ops.values():
            if isinstance(op, dict) and "responses" in op:
                op["responses"] = {str(k): v for k, v in op["responses"].items()}
    return raw


class _Converter:
    def __init__(self, spec: str, document: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def ref_target(self, ref: str) -> dict[str, Any]:
        return dict(self.schemas[ref.rsplit("/", 1)[1]])

    def convert(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return {"$ref": _uri(self.spec) + node["$ref"]}
        if "allOf" in node:
            node = self._flatten(node)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP or key.startswith("x-"):
                continue
            if key == "properties":
                out[key] = {name: self.convert(sub) for name, sub in value.items()}
            elif key in ("items", "not") or (
                key == "additionalProperties" and isinstance(value, dict)
            ):
                out[key] = self.convert(value)
            elif key in ("oneOf", "anyOf"):
                out[key] = [self.convert(sub) for sub in value]
            else:
                out[key] = value
        if node.get("nullable"):
            if "type" in out:
                out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        is_object = out.get("type") == "object" or "properties" in out
        if is_object and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out

    def _flatten(self, node: dict[str, Any]) -> dict[str, Any]:
        """``allOf`` of parents plus own fields as one object (so it can be closed)."""
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        properties: dict[str, Any] = {}
        required: list[str] = []
        for part in node["allOf"]:
            member = self.ref_target(part["$ref"]) if "$ref" in part else dict(part)
            if "allOf" in member:
                member = self._flatten(member)
            properties |= member.get("properties", {})
            required += member.get("required", [])
            for key in ("type", "additionalProperties"):
                if key in member:
                    merged.setdefault(key, member[key])
        merged["properties"] = properties | node.get("properties", {})
        merged["required"] = sorted(set(required) | set(node.get("required", [])))
        if not merged["required"]:
            del merged["required"]
        return merged


@cache
def registry() -> Registry:
    """Every spec's converted component schemas, addressable by ``urn:...:<spec>#/components/...``."""
    resources = []
    for spec in SPEC_FILES:
        converter = _Converter(spec, load_spec(spec))
        converted = {name: converter.convert(s) for name, s in converter.schemas.items()}
        contents = {"components": {"schemas": converted}}
        resources.append((_uri(spec), Resource(contents=contents, specification=DRAFT4)))
    return Registry().with_resources(resources)


@cache
def _validator_for(spec: str, schema_json: str) -> Draft4Validator:
    schema = _Converter(spec, load_spec(spec)).convert(json.loads(schema_json))
    return Draft4Validator(schema, registry=registry())


def validator(spec: str, schema: dict[str, Any]) -> Draft4Validator:
    """A compiled validator for one inline or referenced schema (built once per session)."""
    return _validator_for(spec, json.dumps(schema, sort_keys=True))
