"""Two `wharfinger serve` processes on one event store, as behind a load balancer.

A change made through node A is honoured by node B's token endpoint within a second: that is the
PostgreSQL deployment (nodes woken by LISTEN/NOTIFY), so it runs on PostgreSQL only; SQLite is the
embedded single-node store and promises no cross-process latency. A node restarted while both are
under load catches up on what it missed before it answers, so it never serves a stale grant: that
holds for any store, so it runs on both (on SQLite, two processes on one host sharing the file).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.history import World, write_history
from bench.nodes import Node, wait_until
from domain.application import Wharfinger
from eventstore.location import StoreLocation
from eventstore.open import open_log
from web.app_tokens import hash_token, new_token

SERVICE = "registry.test:5000"
PUSH_PULL = "repository:{}/app:pull,push"

pytestmark = pytest.mark.e2e


@pytest.fixture
def nodes(tmp_path: Path, database_url: str | None) -> Iterator[tuple[Node, Node]]:
    env = {"PATH": "/usr/bin:/bin", "WHARFINGER_DATA_DIR": str(tmp_path / "data"),
           "WHARFINGER_MACHINE_FQDN_VALUE": "wharfinger.test"}
    if database_url:
        env["WHARFINGER_DATABASE_URL"] = database_url
    a, b = (Node(n, env, tmp_path / f"{n}.log") for n in ("a", "b"))
    try:
        # PostgreSQL nodes start at once, as a deployment's do (they once raced creating the
        # tables). On SQLite, two processes on one file is only this test's setup, not a
        # deployment: start them one after the other so the test is about the restart.
        a.start(wait=database_url is None)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_change_through_node_a_is_honoured_by_node_b_within_a_second(
        nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    # Step 1: the first admin is created through node A; node B accepts its token.
    created = a.request("POST", "/api/v1/users/bootstrap", json_body={
        "username": "admin", "email": "admin@example.org", "password": "a long password 1"})
    assert created.status == 201, created.body
    admin = ("admin", created.body["plain_token"])
    # (no registry yet: a valid token, and nothing granted)
    elapsed = wait_until(
        lambda: b.granted(SERVICE, PUSH_PULL.format("admin"), admin) == (200, []), timeout=1.0)
    assert elapsed < 1.0
    # Step 2: the registry is registered through node A; node B grants push to the admin's
    # personal namespace within a second, and pull to nobody else's.
    registered = a.request("POST", "/api/v1/registries",
                           headers={"Portus-Auth": f"admin:{admin[1]}"},
                           json_body={"name": "main", "hostname": SERVICE})
    assert registered.status == 201, registered.body
    elapsed = wait_until(
        lambda: b.granted(SERVICE, PUSH_PULL.format("admin"), admin) == (200, ["pull", "push"]),
        timeout=1.0)
    assert elapsed < 1.0
    assert b.granted(SERVICE, PUSH_PULL.format("someone"), None) == (200, [])
    # Step 3: a wrong token is refused by both nodes.
    for node in (a, b):
        assert node.granted(SERVICE, PUSH_PULL.format("admin"), ("admin", "wht_nope"))[0] == 401


def test_a_node_restarted_under_load_catches_up_before_it_answers(
        nodes: tuple[Node, Node], tmp_path: Path, database_url: str | None) -> None:
    a, b = nodes
    created = a.request("POST", "/api/v1/users/bootstrap", json_body={
        "username": "admin", "email": "admin@example.org", "password": "a long password 1"})
    admin = ("admin", created.body["plain_token"])
    assert a.request("POST", "/api/v1/registries", headers={"Portus-Auth": f"admin:{admin[1]}"},
                     json_body={"name": "main", "hostname": SERVICE}).status == 201
    wait_until(lambda: b.granted(SERVICE, PUSH_PULL.format("admin"), admin)[1] == ["pull",
                                                                                     "push"], 2)
    late_token = new_token()
    late = ("late", late_token)
    # Step 1: load on both nodes: the admin and a user who does not exist yet, over and over.
    answers: list[tuple[str, float, int, int, list[str], list[str]]] = []
    stop = threading.Event()

    def load(node: Node) -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                admin_answer = node.granted(SERVICE, PUSH_PULL.format("admin"), admin)
                late_answer = node.granted(SERVICE, PUSH_PULL.format("late"), late)
            except OSError:  # the node is down: the load balancer would try the other one
                time.sleep(0.01)
                continue
            answers.append((node.name, sent, admin_answer[0], late_answer[0], admin_answer[1],
                            late_answer[1]))

    threads = [threading.Thread(target=load, args=(n,)) for n in (a, b, b)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        # Step 2: node B stops; meanwhile ~11k events are appended and the late user with an
        # application token and a personal namespace is registered.
        b.stop()
        stopped = time.monotonic()
        store = open_log(StoreLocation.from_settings(tmp_path / "data", database_url),
                         Wharfinger, "events")
        try:
            write_history(store, World(users=2000, teams=200, namespaces=1000, registry=False,
                                       prefix="bulk-"))
            user = store.register_user(username="late", email="late@example.org",
                                       password_hash=None)
            store.create_application_token(user.id, "ci", hash_token(late_token))
        finally:
            store.close()
        # Step 3: node B comes back under load and catches up before answering.
        b.start()
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    # A node that cannot read the log in time answers 503 (fail closed, the load balancer
    # retries elsewhere); that is never wrong. Every 200 must be right.
    assert all(x[2] == 503 or (x[2] == 200 and x[4] == ["pull", "push"]) for x in answers), \
        "the admin lost a grant somewhere"
    b_after = [x for x in answers if x[0] == "b" and x[1] > stopped and x[3] != 503]
    assert len(b_after) >= 5, "node B answered nothing after its restart"
    # Every answer node B gave after its restart knew the late user: nothing stale.
    assert all(x[3] == 200 and x[5] == ["pull", "push"] for x in b_after), b_after[:5]
    assert b.granted(SERVICE, PUSH_PULL.format("bulk-ns7"), None)[0] == 200
