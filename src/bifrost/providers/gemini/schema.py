"""JSON Schema <-> Gemini `Schema` (the OpenAPI 3.0 subset of FunctionDeclaration.parameters / responseSchema).

`to_gemini_schema` keeps only the fields Gemini's Schema object has (ai.google.dev/api/caching#Schema) and
rewrites what Gemini cannot express, following Bifrost (convertPropertyToSchema, normalizeSchemaForGemini)
and google-genai's own `process_schema`:
  $ref / $defs / definitions  -> inlined (a recursive reference becomes {"type": "object"})
  allOf                       -> merged into one schema (properties and required united)
  oneOf                       -> anyOf
  type: [T, "null"]           -> type T + nullable; several non-null types -> anyOf of each type
  anyOf [..., {type: null}]   -> nullable; an anyOf left with one branch is merged into its parent
  const (string)              -> enum [const]
  enum with non-string values -> dropped, the values listed in the description (Gemini enums are strings)
  format                      -> kept only where Gemini accepts it (string: enum/date-time, number: float/double,
                                 integer: int32/int64)
  required                    -> limited to names listed in properties
  properties / items & co.    -> removed from nodes of another type (Gemini: "only allowed for OBJECT type")
  additionalProperties, $schema, $id, strict, exclusiveMinimum/Maximum, multipleOf, uniqueItems, patternProperties,
  not, if/then/else, examples, readOnly, ... -> dropped
`to_json_schema` is the inverse used for requests arriving in Gemini format: lower-case types, nullable ->
type [T, "null"], propertyOrdering dropped.
"""

from __future__ import annotations

from typing import Any

_ALLOWED = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
    "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
    "default", "items", "minimum", "maximum",
})
_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})
_FORMATS = {"string": {"enum", "date-time"}, "number": {"float", "double"}, "integer": {"int32", "int64"}}
_TYPE_KEYWORDS = (("object", ("properties", "propertyOrdering", "minProperties", "maxProperties")),
                  ("array", ("items", "minItems", "maxItems")))
_MAX_DEPTH = 64
# snake_case spellings a Gemini client may use -> the camelCase wire names.
_CAMEL = {
    "any_of": "anyOf", "property_ordering": "propertyOrdering", "max_items": "maxItems", "min_items": "minItems",
    "max_length": "maxLength", "min_length": "minLength", "max_properties": "maxProperties",
    "min_properties": "minProperties",
}


def to_gemini_schema(schema: Any, *, ordering: bool = False) -> dict:
    """A JSON Schema -> a Gemini Schema. `ordering` adds propertyOrdering (declared order) to objects."""
    if not isinstance(schema, dict):
        return {}
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        if isinstance(schema.get(key), dict):
            defs.update(schema[key])
    return _clean(schema, defs, frozenset(), ordering, 0)


def _resolve(node: dict, defs: dict, seen: frozenset) -> tuple[dict, frozenset]:
    """Inline $ref (siblings win) and merge allOf, repeatedly, until neither is left."""
    for _ in range(_MAX_DEPTH):
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            rest = {k: v for k, v in node.items() if k != "$ref"}
            if name in seen or not isinstance(defs.get(name), dict):
                return {"type": "object", **{k: v for k, v in rest.items() if k in ("description", "title")}}, seen
            node, seen = {**defs[name], **rest}, seen | {name}
            continue
        all_of = node.get("allOf")
        if isinstance(all_of, list):
            merged = {k: v for k, v in node.items() if k != "allOf"}
            for sub in all_of:
                if not isinstance(sub, dict):
                    continue
                sub, seen = _resolve(sub, defs, seen)
                for key, value in sub.items():
                    if key == "properties" and isinstance(value, dict):
                        merged["properties"] = {**value, **(merged.get("properties") or {})}
                    elif key == "required" and isinstance(value, list):
                        merged["required"] = list(dict.fromkeys([*(merged.get("required") or []), *value]))
                    else:
                        merged.setdefault(key, value)
            node = merged
            continue
        return node, seen
    return {"type": "object"}, seen


def _clean(node: Any, defs: dict, seen: frozenset, ordering: bool, depth: int) -> dict:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return {}
    node, seen = _resolve(dict(node), defs, seen)
    nullable = node.get("nullable") is True

    if "const" in node:
        const = node.pop("const")
        if isinstance(const, str) and "enum" not in node:
            node["enum"] = [const]
            node.setdefault("type", "string")
    if "oneOf" in node:
        one_of = node.pop("oneOf")
        node.setdefault("anyOf", one_of)

    kind = node.get("type")
    if isinstance(kind, list):
        names = [t for t in kind if isinstance(t, str)]
        non_null = list(dict.fromkeys(t for t in names if t != "null"))
        nullable = nullable or "null" in names
        node.pop("type")
        if len(non_null) == 1:
            node["type"] = non_null[0]
        elif non_null and "anyOf" not in node:
            node["anyOf"] = [{"type": t} for t in non_null]
    elif kind == "null":
        node.pop("type")
        nullable = True

    any_of = node.get("anyOf")
    if isinstance(any_of, list):
        branches = []
        for branch in any_of:
            if isinstance(branch, dict) and branch.get("type") == "null":
                nullable = True
            elif isinstance(branch, dict):
                branches.append(branch)
        siblings = {k: v for k, v in node.items() if k not in ("anyOf", "type")}
        if nullable:
            siblings["nullable"] = True
        if len(branches) == 1:
            return _clean({**branches[0], **siblings}, defs, seen, ordering, depth + 1)
        out: dict[str, Any] = {"anyOf": [_clean(b, defs, seen, ordering, depth + 1) for b in branches]}
        for key in ("title", "description"):
            if isinstance(node.get(key), str):
                out[key] = node[key]
        if nullable:
            out["nullable"] = True
        return out

    out = {}
    for key, value in node.items():
        if key not in _ALLOWED or key in ("anyOf", "nullable", "required", "enum", "format"):
            continue
        if key == "type":
            if isinstance(value, str) and value.lower() in _TYPES:
                out["type"] = value
        elif key == "properties":
            if isinstance(value, dict):
                out["properties"] = {name: _clean(sub, defs, seen, ordering, depth + 1) for name, sub in value.items()}
        elif key == "items":
            if isinstance(value, list):  # tuple validation: Gemini has one items schema
                value = value[0] if value else {}
            out["items"] = _clean(value, defs, seen, ordering, depth + 1)
        elif key == "propertyOrdering":
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                out[key] = value
        elif key in ("minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "minProperties",
                     "maxProperties"):
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        elif key in ("title", "description", "pattern"):
            if isinstance(value, str):
                out[key] = value
        elif value is not None:  # default, example
            out[key] = value

    if "type" not in out:
        if "properties" in out:
            out["type"] = "object"
        elif "items" in out:
            out["type"] = "array"
    kind = out.get("type", "").lower() if isinstance(out.get("type"), str) else ""
    # Gemini answers 400 "only allowed for OBJECT type" (or ARRAY) for keywords on the wrong type.
    for keyword_kind, keywords in _TYPE_KEYWORDS:
        if kind and kind != keyword_kind:
            for key in keywords:
                out.pop(key, None)

    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        if all(isinstance(v, str) for v in enum):
            out["enum"] = enum
            out.setdefault("type", "string")
        else:
            allowed = "Allowed values: " + ", ".join(str(v) for v in enum)
            out["description"] = f"{out['description']} ({allowed})" if out.get("description") else allowed
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS.get(kind, ()):
        out["format"] = fmt
    required = node.get("required")
    if isinstance(required, list) and kind in ("", "object"):
        props = out.get("properties") or {}
        names = [r for r in required if isinstance(r, str) and r in props]
        if names:
            out["required"] = names
    if nullable:
        out["nullable"] = True
    props = out.get("properties")
    if ordering and isinstance(props, dict) and len(props) > 1 and "propertyOrdering" not in out:
        out["propertyOrdering"] = list(props)
    return out


def to_json_schema(schema: Any, depth: int = 0) -> Any:
    """A Gemini Schema -> a JSON Schema (lower-case types, nullable as a "null" type, no propertyOrdering)."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        key = _CAMEL.get(key, key)
        if key in ("propertyOrdering", "nullable"):
            continue
        if key == "type" and isinstance(value, str):
            out["type"] = "object" if value.upper() == "TYPE_UNSPECIFIED" else value.lower()
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: to_json_schema(v, depth + 1) for k, v in value.items()}
        elif key == "items":
            out["items"] = to_json_schema(value, depth + 1)
        elif key == "anyOf" and isinstance(value, list):
            out["anyOf"] = [to_json_schema(v, depth + 1) for v in value]
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif isinstance(out.get("anyOf"), list):
            out["anyOf"].append({"type": "null"})
    return out
