"""A Hypothesis fuzz over every operation of the OpenAPI document: odd ids, odd query values,
bodies of the right shape with wrong values, wrong shapes, broken JSON and odd Unicode, as
admins, members, strangers and nobody. No response may be a 5xx or break the document (the
`Api` helper checks every response against it)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.web.api.helpers import Api
from tests.web.api.openapi_check import DOCUMENT
from web.api.registries import HOST_PORT

OPERATIONS = sorted((path, method) for path, item in DOCUMENT["paths"].items()
                    for method in item)
WHO = st.sampled_from(["admin", "owner", "contributor", "viewer", "outsider", None])

odd_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "web", "webns", "pub", "admin", "owner", "viewer", "x" * 300,
                     "Ünïcödé", "a/b", "../..", "..", "%00", "\u0000", "\ud800", "\u202e",
                     "ﬁ", "ＷＥＢ", "null", "1", "-1", "0", "1e9", "private", "public"]))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63),
                   st.floats(allow_nan=False), odd_text)
any_json = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)),
    max_leaves=8)
plausible = st.one_of(
    st.sampled_from(["viewer", "contributor", "owner", "private", "protected", "public", "web",
                     "outsider", "viewer", "a long password 123", "new@example.org", True,
                     False, 1, 2, 3]),
    st.from_regex(r"[a-z0-9]{1,8}([._-][a-z0-9]{1,4})?", fullmatch=True))
# Only loopback addresses may be probed from a test (nothing else is ours to connect to); any
# other drawn value must be one validate refuses without connecting.
probed_hosts = st.one_of(
    st.sampled_from(["127.0.0.1:1", "localhost:9", "[::1]:1", "127.0.0.1"]),
    odd_text.filter(lambda v: not HOST_PORT.fullmatch(v.strip())))
path_value = st.one_of(st.integers(1, 9).map(str), st.integers(1, 9).map(str),
                       st.integers(-5, 2**40).map(str), odd_text)


def body_strategy(operation: dict[str, Any]) -> st.SearchStrategy[Any]:
    request = operation.get("requestBody")
    if request is None:
        return st.one_of(st.none(), any_json)
    schema = request["content"]["application/json"]["schema"]["anyOf"][1]
    names = list(schema["properties"])
    shaped = st.fixed_dictionaries({}, optional={
        name: st.one_of(plausible, plausible, scalar, any_json) for name in names})
    extra = st.fixed_dictionaries({}, optional={"extra": scalar})
    shaped = st.tuples(shaped, extra).map(lambda pair: {**pair[0], **pair[1]})
    wrapper = next(iter(request["content"]["application/json"]["schema"]["anyOf"][0][
        "properties"]))
    return st.one_of(shaped, shaped.map(lambda b: {wrapper: b}), any_json)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str | None, dict[str, Any]]:
    template, method = draw(st.sampled_from(OPERATIONS))
    operation = DOCUMENT["paths"][template][method]
    path = template
    query: dict[str, str] = {}
    for param in operation.get("parameters", []):
        if param["in"] == "path":
            value = draw(path_value)
            if template == "/api/v1/users/application_tokens/{id}" and value in "12345":
                value = "6"  # revoking the world's own tokens would lock the callers out
            segment = quote(value, safe="", errors="surrogatepass")
            path = path.replace("{" + param["name"] + "}", segment)
        elif draw(st.booleans()):
            strategy = odd_text
            if template == "/api/v1/registries/validate" and param["name"] == "hostname":
                strategy = probed_hosts  # validate connects to what it is given
            query[param["name"]] = draw(strategy)
    kwargs: dict[str, Any] = {}
    if query:
        # Raw bytes in the query string, invalid UTF-8 included.
        kwargs["query_string"] = "&".join(
            f"{k}={quote(v, safe='', errors='surrogatepass')}" for k, v in query.items())
    kind = draw(st.sampled_from(["json", "json", "json", "raw"]))
    if kind == "raw":
        kwargs["data"] = draw(st.binary(max_size=40))
        kwargs["headers_extra"] = {"Content-Type": "application/json"}
    else:
        body = draw(body_strategy(operation))
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers_extra"] = {"Content-Type": "application/json"}
    return method.upper(), path, draw(WHO), kwargs


async def test_fuzz_the_whole_api(api: Api) -> None:
    loop = asyncio.get_running_loop()

    async def send(method: str, path: str, who: str | None, kwargs: dict[str, Any]) -> None:
        extra = kwargs.pop("headers_extra", {})
        headers = {**api.headers(who), **extra}
        query = kwargs.pop("query_string", "")
        target = URL(path + ("?" + query if query else ""), encoded=True)
        response = await api.client.request(method, target, headers=headers, **kwargs)
        from tests.web.api.openapi_check import check_response

        check_response(method, response.url.raw_path, response.status, await response.text(),
                       response.headers)

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests())
    def fuzz(request: tuple[str, str, str | None, dict[str, Any]]) -> None:
        method, path, who, kwargs = request
        asyncio.run_coroutine_threadsafe(send(method, path, who, dict(kwargs)), loop).result(30)

    await asyncio.to_thread(fuzz)
