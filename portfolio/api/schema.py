"""Additions to the generated OpenAPI schema: the one error format, on every operation."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine code, e.g. invalid, not_found."},
                "message": {"type": "string", "description": "What went wrong, for people."},
                "fields": {
                    "type": "object",
                    "description": "Per-field messages of a validation error.",
                    "additionalProperties": True,
                },
            },
            "additionalProperties": True,
        }
    },
}
COMMON = {
    "400": "The request has invalid values; see the fields.",
    "401": "No valid credentials (send Authorization: Token <token>).",
    "403": "The user's role does not allow this.",
    "404": "No such resource.",
    "405": "This method is not allowed on this resource.",
    "429": "Too many requests; wait and try again.",
}
REFRESH = {
    "409": "A refresh of this kind is already queued or running.",
    "503": "The task queue cannot be reached; the run is recorded as failed.",
}


def _drop_uri_formats(node) -> None:
    """Source URLs may be empty (""), which is not a URI: document them as plain strings. The
    serializers still check that a URL given is one."""
    if isinstance(node, dict):
        if node.get("format") == "uri":
            del node["format"]
        alternatives = node.get("oneOf")
        if alternatives and all(isinstance(a, dict) and a.get("type") == "string" for a in alternatives):
            # "a URL, or empty": without the URI format both alternatives are strings, and "" would
            # match both of a oneOf; one string of the longer length says the same.
            del node["oneOf"]
            node["type"] = "string"
            lengths = [a["maxLength"] for a in alternatives if "maxLength" in a]
            if lengths:
                node["maxLength"] = max(lengths)
        for value in node.values():
            _drop_uri_formats(value)
    elif isinstance(node, list):
        for value in node:
            _drop_uri_formats(value)


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the error statuses it can answer with."""
    _drop_uri_formats(result.get("components", {}))
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = dict(COMMON)
            if path.endswith("/refresh-runs/") and method == "post":
                statuses.update(REFRESH)
            for status, description in statuses.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
