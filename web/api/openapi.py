"""The OpenAPI 3.1 document of the REST API, served at `/api/openapi.json`.

Built from small helpers so each operation lists its parameters, request body and every status
it can answer, with the error body shape (`{"message": …, "errors": […]}`) on each refusal. The
tests validate every real response the API suite receives against this document.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

routes = web.RouteTableDef()

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Schema = {"type": "string"}
TIME: Schema = _nullable({"type": "string", "format": "date-time"})
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None,
            *, closed: bool = True) -> Schema:
    schema: Schema = {"type": "object", "properties": {**required, **(optional or {})},
                      "required": list(required)}
    if closed:
        schema["additionalProperties"] = False
    return schema


SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object", "required": ["message"],
        "properties": {
            "message": {"anyOf": [STRING, {"type": "object", "additionalProperties": {
                "type": "array", "items": STRING}}]},
            "field": {"type": "string", "description": "the input at fault, when one is"},
            "errors": {"type": "array", "items": _object(
                {"code": STRING, "message": STRING})},
        }},
    "User": _object({
        "id": INT, "username": STRING, "email": STRING, "current_sign_in_at": TIME,
        "last_sign_in_at": TIME, "created_at": TIME, "updated_at": TIME, "admin": BOOL,
        "enabled": BOOL, "locked_at": TIME, "namespace_id": _nullable(INT),
        "display_name": _nullable(STRING), "bot": BOOL, "auditor": BOOL},
        {"plain_token": STRING}),
    "ApplicationToken": _object({"id": INT, "application": STRING}, {"plain_token": STRING}),
    "Bootstrap": _object({"id": INT, "username": STRING, "application": STRING,
                          "token_id": INT, "plain_token": STRING}),
    "Team": _object(
        {"id": INT, "name": STRING, "created_at": TIME, "updated_at": TIME,
         "description": STRING, "hidden": BOOL},
        {"role": _nullable({"enum": ["viewer", "contributor", "owner"]}),
         "users_count": INT, "namespaces_count": INT}),
    "TeamMember": _object({
        "id": INT, "team_id": INT, "user_id": INT, "created_at": TIME, "updated_at": TIME,
        "role": {"enum": ["viewer", "contributor", "owner"]}, "display_name": STRING,
        "admin": BOOL, "current": BOOL}),
    "Namespace": _object({
        "id": INT, "name": STRING, "created_at": TIME, "updated_at": TIME,
        "description": STRING,
        "team": _object({"id": _nullable(INT), "name": _nullable(STRING), "hidden": BOOL}),
        "visibility": {"enum": ["private", "protected", "public"]}, "global": BOOL}),
    "Repository": {"type": "object", "required": ["id", "name"],
                   "properties": {"id": INT, "name": STRING}},
    "Registry": _object({
        "id": INT, "name": STRING, "hostname": STRING, "external_hostname": STRING,
        "use_ssl": BOOL, "created_at": TIME, "updated_at": TIME}),
    "Validation": _object({"valid": BOOL, "messages": {
        "type": "object", "additionalProperties": {"type": "array", "items": STRING}}}),
    "Health": {"type": "object", "additionalProperties": {
        "type": "object", "required": ["msg"],
        "properties": {"msg": STRING, "success": BOOL}}},
    "Version": _object({"api-versions": {"type": "array", "items": STRING},
                        "git": _nullable({"type": "object"}), "version": STRING}),
    "Empty": {"type": "object", "maxProperties": 0},
}

_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content",
                400: "Malformed request: the body names the field",
                401: "Authentication fails", 403: "Authorization fails", 404: "Not found",
                405: "Switched off on this instance", 409: "Conflict: taken or changed meanwhile",
                413: "Request body too large", 422: "Refused by a rule: the body says which",
                503: "The service cannot know right now; retry"}
_ALWAYS = (400, 404, 405, 413, 503)
"""Any route can refuse a malformed request or be asked with the wrong method."""

PAGE_PARAMS: list[Schema] = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                   "maximum": 1000}},
    {"name": "all", "in": "query", "schema": {"type": "boolean"}},
    {"name": "sort_attr", "in": "query", "schema": STRING},
    {"name": "sort_order", "in": "query", "schema": {"enum": ["asc", "desc"]}},
]
PAGE_HEADERS = {name: {"schema": STRING} for name in (
    "X-Page", "X-Per-Page", "X-Total", "X-Total-Pages", "X-Next-Page", "X-Prev-Page", "Link")}


def _path_param(name: str = "id", description: str = "integer id") -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": STRING}


def _op(summary: str, ok: int, body: Schema | None, *, errors: tuple[int, ...] = (),
        params: list[Schema] | None = None, request: Schema | None = None,
        auth: bool = True, paged: bool = False) -> Schema:
    responses: dict[str, Any] = {}
    ok_response: Schema = {"description": _STATUS_TEXT[ok]}
    if body is not None:
        ok_response["content"] = {"application/json": {"schema": body}}
    if paged:
        ok_response["headers"] = PAGE_HEADERS
    responses[str(ok)] = ok_response
    codes = set(errors) | set(_ALWAYS) | ({401, 403} if auth else set())
    for code in sorted(codes):
        responses[str(code)] = {"description": _STATUS_TEXT[code], "content": {
            "application/json": {"schema": _ref("Error")}}}
    operation: Schema = {"summary": summary, "responses": responses,
                         "parameters": list(params or []) + (PAGE_PARAMS if paged else [])}
    if request is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": request}}}
    if auth:
        operation["security"] = [{"PortusAuth": []}]
    else:
        operation["security"] = []
    return operation


def _wrapped(wrapper: str, fields: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """Portus accepts `{wrapper: {...}}`; the flat object is accepted too."""
    inner: Schema = {"type": "object", "properties": fields, "additionalProperties": False}
    if required:
        inner["required"] = list(required)
    return {"anyOf": [_object({wrapper: inner}), inner]}


def _list(name: str) -> Schema:
    return {"type": "array", "items": _ref(name)}


ROLE: Schema = {"enum": ["viewer", "contributor", "owner"]}
VISIBILITY: Schema = {"enum": ["private", "protected", "public"]}
ID = [_path_param()]
MEMBER = [_path_param(), _path_param("member_id", "the member's user id")]

_HEALTH = _op("Health of the components: 503 when the event log cannot be read", 200,
              _ref("Health"), auth=False)
_HEALTH["responses"]["503"] = {"description": _STATUS_TEXT[503], "content": {
    "application/json": {"schema": _ref("Health")}}}

PATHS: dict[str, dict[str, Schema]] = {
    "/api/v1/_ping": {"get": _op("Liveness", 200, _ref("Empty"), auth=False)},
    "/api/v1/health": {"get": _HEALTH},
    "/api/version": {"get": _op("API and service versions", 200, _ref("Version"))},
    "/api/openapi.json": {"get": _op("This document", 200, {"type": "object"}, auth=False)},
    "/api/v1/users": {
        "get": _op("List users (admins)", 200, _list("User"), paged=True),
        "post": _op("Create a user or a bot (admins); a bot's default token is returned once",
                    201, _ref("User"), errors=(409, 422), request=_wrapped("user", {
                        "username": STRING, "email": STRING, "password": STRING,
                        "display_name": STRING, "bot": BOOL}, ("username",))),
    },
    "/api/v1/users/bootstrap": {
        "post": _op("Create the first admin while there are no users", 201, _ref("Bootstrap"),
                    errors=(409, 422), auth=False, request=_wrapped("user", {
                        "username": STRING, "email": STRING, "password": STRING},
                        ("username", "email", "password"))),
    },
    "/api/v1/users/{id}": {
        "get": _op("Show a user by id or email (admins)", 200, _ref("User"),
                   params=[_path_param("id", "integer id or email")]),
        "put": _op("Update a user (admins)", 200, _ref("User"), errors=(409, 422), params=ID,
                   request=_wrapped("user", {"username": STRING, "email": STRING,
                                             "password": STRING, "display_name": STRING})),
        "delete": _op("Delete a user (admins)", 204, None, errors=(409, 422), params=ID),
    },
    "/api/v1/users/{id}/toggle_admin": {
        "put": _op("Grant or revoke admin (admins, never oneself)", 200, _ref("User"),
                   errors=(409, 422), params=ID)},
    "/api/v1/users/{id}/toggle_auditor": {
        "put": _op("Grant or revoke the read-only auditor role (admins)", 200, _ref("User"),
                   params=ID)},
    "/api/v1/users/{id}/toggle_enabled": {
        "put": _op("Disable (self or admins) or re-enable (admins) a user", 200, _ref("User"),
                   errors=(409, 422), params=ID)},
    "/api/v1/users/{id}/unlock": {
        "post": _op("Unlock an account locked by failed passwords (admins)", 200, _ref("User"),
                    params=ID)},
    "/api/v1/users/{id}/application_tokens": {
        "get": _op("List one's application tokens (admins: a bot's)", 200,
                   _list("ApplicationToken"), params=ID),
        "post": _op("Create an application token; the plain token is shown once", 201,
                    _ref("ApplicationToken"), errors=(409, 422), params=ID,
                    request=_wrapped("application_token", {"application": STRING},
                                     ("application",))),
    },
    "/api/v1/users/application_tokens/{id}": {
        "delete": _op("Revoke an application token", 204, None, errors=(409,), params=ID)},
    "/api/v1/teams": {
        "get": _op("List the caller's teams (admins: all)", 200, _list("Team"), paged=True),
        "post": _op("Create a team", 201, _ref("Team"), errors=(409, 422),
                    request=_wrapped("team", {"name": STRING, "description": STRING,
                                              "owner_id": {"type": ["integer", "string"]}},
                                     ("name",))),
    },
    "/api/v1/teams/{id}": {
        "get": _op("Show a team", 200, _ref("Team"), params=ID),
        "put": _op("Update a team", 200, _ref("Team"), errors=(409, 422), params=ID,
                   request=_wrapped("team", {"name": STRING, "description": STRING})),
        "delete": _op("Delete a team; `new_team` migrates its namespaces", 204, None,
                      errors=(409, 422), params=[*ID, {"name": "new_team", "in": "query",
                                                       "schema": STRING}]),
    },
    "/api/v1/teams/{id}/namespaces": {
        "get": _op("A team's namespaces", 200, _list("Namespace"), params=ID, paged=True)},
    "/api/v1/teams/{id}/members": {
        "get": _op("A team's members", 200, _list("TeamMember"), params=ID, paged=True),
        "post": _op("Add a member (admins always join as owners)", 201, _ref("TeamMember"),
                    errors=(409, 422), params=ID,
                    request=_wrapped("member", {"user": STRING, "role": ROLE},
                                     ("user", "role"))),
    },
    "/api/v1/teams/{id}/members/{member_id}": {
        "put": _op("Change a member's role", 200, _ref("TeamMember"), errors=(409, 422),
                   params=MEMBER, request=_wrapped("member", {"role": ROLE}, ("role",))),
        "delete": _op("Remove a member", 204, None, errors=(409, 422), params=MEMBER),
    },
    "/api/v1/teams/{id}/ldap_check": {
        "post": _op("Opt the team out of LDAP group sync", 200, _ref("Empty"), params=ID)},
    "/api/v1/namespaces": {
        "get": _op("Namespaces the caller may pull from", 200, _list("Namespace"), paged=True),
        "post": _op("Create a namespace in a team", 201, _ref("Namespace"), errors=(409, 422),
                    request=_wrapped("namespace", {"name": STRING, "team": STRING,
                                                   "description": STRING}, ("name", "team"))),
    },
    "/api/v1/namespaces/validate": {
        "get": _op("Is this namespace name valid and free?", 200, _ref("Validation"),
                   params=[{"name": "name", "in": "query", "schema": STRING}])},
    "/api/v1/namespaces/{id}": {
        "get": _op("Show a namespace", 200, _ref("Namespace"), params=ID),
        "put": _op("Rename, describe, move to a team or change visibility", 200,
                   _ref("Namespace"), errors=(409, 422), params=ID,
                   request=_wrapped("namespace", {"name": STRING, "description": STRING,
                                                  "team": STRING, "visibility": VISIBILITY})),
        "delete": _op("Delete a team namespace", 204, None, errors=(409, 422), params=ID),
    },
    "/api/v1/namespaces/{id}/repositories": {
        "get": _op("A namespace's repositories", 200, _list("Repository"), params=ID,
                   paged=True)},
    "/api/v1/registries": {
        "get": _op("The registry (admins)", 200, _list("Registry")),
        "post": _op("Register the registry (admins)", 201, _ref("Registry"), errors=(409, 422),
                    request=_wrapped("registry", {"name": STRING, "hostname": STRING,
                                                  "external_hostname": STRING,
                                                  "use_ssl": {"type": ["boolean", "string"]}},
                                     ("name", "hostname"))),
    },
    "/api/v1/registries/validate": {
        "get": _op("Validate registry fields and probe GET /v2/ at the hostname (admins)", 200,
                   _ref("Validation"),
                   params=[{"name": n, "in": "query", "schema": STRING}
                           for n in ("name", "hostname", "external_hostname", "use_ssl",
                                     "only[]")])},
    "/api/v1/registries/{id}": {
        "put": _op("Update the registry (admins)", 200, _ref("Registry"), errors=(409, 422),
                   params=ID, request=_wrapped("registry", {
                       "name": STRING, "hostname": STRING, "external_hostname": STRING,
                       "use_ssl": {"type": ["boolean", "string"]}}))},
}

_AT = {"name": "at", "in": "query", "schema": STRING, "description": "ISO 8601 time or `now`"}
_SPAN = [{"name": n, "in": "query", "schema": STRING} for n in ("from", "to")]
_TARGET = [{"name": n, "in": "query", "schema": STRING} for n in ("namespace", "repository")]
_ANSWER: Schema = {"type": "object"}
_LOG = {"name": "log", "in": "query", "schema": {"enum": ["events", "audit"]}}
PATHS.update({
    # The audit API (web.api.audit): time travel over the log, admins only.
    "/api/v1/audit/users/{username}/permissions": {"get": _op(
        "A user's permissions at a time", 200, _ANSWER,
        params=[_path_param("username", "username"), _AT])},
    "/api/v1/audit/users/{username}/permissions/diff": {"get": _op(
        "How a user's permissions changed between two times, and which events did it", 200,
        _ANSWER, params=[_path_param("username", "username"), *_SPAN])},
    "/api/v1/audit/access": {"get": _op(
        "Who could access a namespace or repository at a time", 200, _ANSWER,
        params=[*_TARGET, _AT])},
    "/api/v1/audit/access/diff": {"get": _op(
        "How access to a namespace or repository changed", 200, _ANSWER,
        params=[*_TARGET, *_SPAN])},
    "/api/v1/audit/tokens/{jti}": {"get": _op(
        "Why a token was issued", 200, _ANSWER, params=[_path_param("jti", "the token's jti")])},
    # Tamper evidence (web.api.audit): RFC 9162 trees, C2SP signed checkpoints.
    "/api/v1/audit/checkpoint": {
        "get": _op("The latest signed checkpoint of a log", 200, _ANSWER, params=[_LOG]),
        "post": _op("Seal the log and sign a checkpoint now", 201, _ANSWER, params=[_LOG])},
    "/api/v1/audit/proofs/inclusion": {"get": _op(
        "Inclusion proof of the event at a log position", 200, _ANSWER, params=[
            _LOG, {"name": "position", "in": "query", "required": True, "schema": STRING},
            {"name": "size", "in": "query", "schema": STRING}])},
    "/api/v1/audit/proofs/consistency": {"get": _op(
        "Consistency proof between two tree sizes", 200, _ANSWER, params=[
            _LOG, *({"name": n, "in": "query", "required": True, "schema": STRING}
                    for n in ("from", "to"))])},
    "/api/v1/audit/key": {"get": _op(
        "The checkpoints' verifier key (C2SP note verifier key)", 200, _ANSWER, auth=False)},
})


# The activity feed (web.api.activities): JSON pages, or CSV / JSON Lines / OCSF exports.
_ACTIVITIES = _op(
    "The activity feed the caller may see (admins and auditors: all), newest first", 200,
    {"anyOf": [_object({"activities": {"type": "array", "items": {"type": "object"}},
                        "next_cursor": _nullable(STRING)}),
               {"type": "array", "items": {"type": "object"}, "description": "format=ocsf"}]},
    errors=(400, 404),
    params=[*({"name": n, "in": "query", "schema": STRING} for n in (
        "actor", "team", "namespace", "repository", "type", "since", "until", "limit",
        "cursor")), {"name": "format", "in": "query",
                     "schema": {"enum": ["json", "csv", "jsonl", "ocsf"]}}])
_ACTIVITIES["responses"]["200"]["content"].update({
    "text/csv": {"schema": STRING}, "application/x-ndjson": {"schema": STRING}})
PATHS["/api/v1/activities"] = {"get": _ACTIVITIES}

# Repositories and tags (web.api.repositories, issue 3): the registry read model and deletion.
_TAG_ID = [_path_param(), _path_param("tag_id", "the tag's id")]
_CONFIRM = [{"name": "confirm_siblings", "in": "query", "schema": {"type": "boolean"},
             "description": "delete the other tags on the same digest too"}]
_DELETED: Schema = {"type": "object"}
SCHEMAS["Tag"] = {"type": "object", "required": ["id", "name", "digest"],
                  "properties": {"id": INT, "name": STRING, "digest": STRING}}
PATHS["/api/v1/namespaces/{id}/repositories"]["delete"] = _op(
    "Delete every repository of a namespace through the registry", 200, _DELETED,
    errors=(409, 422), params=ID)
PATHS.update({
    "/api/v1/repositories": {"get": _op("Repositories the user may pull", 200,
                                        _list("Repository"), paged=True)},
    "/api/v1/repositories/{id}": {
        "get": _op("Show a repository", 200, _ref("Repository"), params=ID),
        "put": _op("Describe a repository (admins and owners of its namespace's team)", 200,
                   _ref("Repository"), errors=(422,), params=ID,
                   request=_wrapped("repository", {"description": STRING}, ("description",))),
        "delete": _op("Delete a repository through the registry", 200, _DELETED,
                      errors=(409, 422), params=ID)},
    "/api/v1/repositories/{id}/tags": {"get": _op("A repository's tags", 200, _list("Tag"),
                                                  params=ID, paged=True)},
    "/api/v1/repositories/{id}/tags/grouped": {"get": _op(
        "A repository's tags grouped by digest, newest first", 200,
        {"type": "array", "items": _list("Tag")}, params=ID)},
    "/api/v1/repositories/{id}/tags/{tag_id}": {"get": _op("Show a tag", 200, _ref("Tag"),
                                                           params=_TAG_ID)},
    "/api/v1/tags": {"get": _op("Every tag (admins)", 200, _list("Tag"), paged=True)},
    "/api/v1/tags/{id}": {
        "get": _op("Show a tag", 200, _ref("Tag"), params=ID),
        "delete": _op("Delete a tag through the registry; 409 lists the sibling tags on its "
                      "digest unless confirm_siblings=true", 200, _DELETED, errors=(409, 422),
                      params=ID + _CONFIRM)},
})


def openapi_document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Wharfinger REST API (Portus API v1 compatible)", "version": "1",
                 "description": "Integer ids; errors are `{\"message\": …}` with a field name "
                                "when one input is at fault."},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"PortusAuth": {
                "type": "apiKey", "in": "header", "name": "Portus-Auth",
                "description": "`<username>:<application token>`"}},
        },
    }


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
