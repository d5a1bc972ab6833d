"""The scope grammar: every string either parses or is a clear ScopeError (400), never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.scopes import MAX_SCOPES, Scope, ScopeError, namespace_of, parse_scope, parse_scopes


@given(st.text(max_size=600))
def test_any_string_parses_or_is_a_scope_error(text: str) -> None:
    try:
        scope = parse_scope(text)
    except ScopeError:
        return
    assert str(scope).count(":") >= 2


@given(st.lists(st.text(alphabet=st.characters(), max_size=80), max_size=80))
def test_any_list_of_values_parses_or_is_a_scope_error(values: list[str]) -> None:
    try:
        scopes = parse_scopes(values)
    except ScopeError:
        return
    assert len({(s.type, s.name) for s in scopes}) == len(scopes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:team/app:pull", Scope("repository", "team/app", ("pull",))),
        ("repository:team/app:pull,push", Scope("repository", "team/app", ("pull", "push"))),
        ("repository:busybox:*", Scope("repository", "busybox", ("*",))),
        ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
        ("repository:a/b/c:pull", Scope("repository", "a/b/c", ("pull",))),
        ("repository:localhost:5000/team/app:pull",
         Scope("repository", "localhost:5000/team/app", ("pull",))),
        ("repository(plugin):team/app:pull", Scope("repository(plugin)", "team/app", ("pull",))),
        ("repository:x/y:*,push", Scope("repository", "x/y", ("*", "push"))),
        ("repository:x/y:fork", Scope("repository", "x/y", ("fork",))),
    ],
)
def test_well_formed_scopes(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "whale:foo,bar",  # Portus answered 401 with an empty body; we say what is wrong
        "repository",
        "repository:",
        "repository::pull",
        "repository:Team/App:pull",
        "repository:team//app:pull",
        "repository:team/app:PULL",
        "repository:te\x00am/app:pull",
        "repository:tëam/app:pull",
        "repository:" + "a" * 300 + ":pull",
        ":team/app:pull",
    ],
)
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope(text)


def test_scopes_merge_per_resource_in_request_order() -> None:
    # skopeo repeats a scope with the actions in another order (docker-token-auth.md §3.4)
    scopes = parse_scopes(["repository:a/b:pull,push",
                           "repository:a/b:push,pull repository:c/d:pull"])
    assert scopes == [Scope("repository", "a/b", ("pull", "push")),
                      Scope("repository", "c/d", ("pull",))]


def test_too_many_scopes_is_refused() -> None:
    with pytest.raises(ScopeError, match="too many"):
        parse_scopes([f"repository:a/b{i}:pull" for i in range(MAX_SCOPES + 1)])


@pytest.mark.parametrize(("name", "namespace"),
                         [("busybox", None), ("team/app", "team"), ("a/b/c", "a")])
def test_namespace_of(name: str, namespace: str | None) -> None:
    assert namespace_of(name) == namespace
