"""Additions to the generated OpenAPI schema: the one error format on every operation, text
without NUL wherever a request carries text, and links from the answers that give a row's id to
the writes that name that row."""

from __future__ import annotations

from .resources import RESOURCES, WRITABLE

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
#: Answered by the web server in front of the API (gunicorn, a proxy), in HTML, before the API reads
#: the request. (Every parameter a request may carry fits: their lengths are bounded.)
URI_TOO_LONG = {
    "description": "The request line is longer than the web server reads (8,190 bytes in gunicorn).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
REFRESH = {
    "409": "A refresh of this kind is already queued or running.",
    "503": "The task queue cannot be reached; the run is recorded as failed.",
}
SCENARIO_RUN = {
    "409": "The same run (kind, scenario, date and path) is already queued or running.",
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


#: Text a request may carry: any but NUL, which the API refuses in every string of a body or query
#: (``portfolio.api.parsers``, ``tracker.middleware.RejectNulBytesMiddleware``): PostgreSQL cannot
#: store or compare it.
NO_NUL = "^[^\\u0000]*$"


def _no_nul(node) -> None:
    """Free text in ``node`` (a string without an enum, a format or a pattern) is text without NUL."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"enum", "format", "pattern"} & node.keys():
            node["pattern"] = NO_NUL
        for value in node.values():
            _no_nul(value)
    elif isinstance(node, list):
        for value in node:
            _no_nul(value)


def _reference_links(paths: dict) -> None:
    """OpenAPI links: the id a row's read or its creation answers with is the value by which a new
    row of another resource names it (a position's ``deal``, a cash flow's
    ``position``). Clients read them as documentation; schemathesis's stateful phase follows them to
    create rows that refer to rows that exist."""
    prefix_of = {resource.model: prefix for prefix, resource in RESOURCES.items()}
    for prefix in sorted(WRITABLE):
        model, fields = RESOURCES[prefix].model, RESOURCES[prefix].fields
        create = paths.get(f"/api/v1/{prefix}/", {}).get("post")
        if create is None:
            continue
        for name in fields:
            field = model._meta.get_field(name)
            if not field.many_to_one or field.related_model not in prefix_of:
                continue
            source = prefix_of[field.related_model]
            sources = [(f"/api/v1/{source}/{{id}}/", "get", "200", "$response.body#/id")]
            if source in WRITABLE:
                sources.append((f"/api/v1/{source}/", "post", "201", "$response.body#/id"))
            for path, method, status, expression in sources:
                response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
                if response is not None:
                    response.setdefault("links", {})[f"{prefix}.{name}"] = {
                        "operationId": create["operationId"],
                        "requestBody": {name: expression},
                        "description": f"This {field.related_model._meta.verbose_name} is the {name} of a new "
                        f"row of {prefix}.",
                    }


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the error statuses it can answer with, the
    text its request may carry and the links from the ids it answers with."""
    _drop_uri_formats(result.get("components", {}))
    _reference_links(result.get("paths", {}))
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: the bodies requests send
            _no_nul(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                _no_nul([parameter.get("schema") for parameter in operation.get("parameters", [])])
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
            if path.endswith("/scenario-runs/") and method == "post":
                statuses.update(SCENARIO_RUN)
            for status, description in statuses.items():
                operation["responses"].setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
            operation["responses"].setdefault("414", URI_TOO_LONG)
    return result
