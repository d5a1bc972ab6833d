"""The store's named lock (eventstore.store_lock): one holder at a time across independent
openings of a store and across processes, a crashed holder frees it, and its notes say who
holds it and how the last holder ended (both backends)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from eventstore.location import StoreLocation
from eventstore.store_lock import StoreLock
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_one_holder_at_a_time_across_two_openings_of_the_store(location: StoreLocation) -> None:
    # Two independent openings, as two nodes would have: nothing shared but the store.
    first, second = StoreLock(location, "verification"), StoreLock(location, "verification")
    assert second.holder() is None and second.last() is None
    held = first.try_hold({"actor": "admin", "started_at": "2026-12-07T10:00:00+00:00"})
    assert held is not None
    # The second opening may not hold it, and is told who does.
    assert second.try_hold({"actor": "auditor"}) is None
    assert second.holder() == {"actor": "admin", "started_at": "2026-12-07T10:00:00+00:00"}
    # Another lock name is another lock.
    other = StoreLock(location, "something-else").try_hold({})
    assert other is not None
    other.release()
    # Released with a note of how it ended: free again, and the note is there to read.
    held.release({"run": "r1", "fact": "f1"})
    assert second.holder() is None
    assert second.last() == {"run": "r1", "fact": "f1"}
    again = second.try_hold({"actor": "auditor"})
    assert again is not None
    assert first.holder() == {"actor": "auditor"}
    # Released without a note: the last one stays.
    again.release()
    assert first.last() == {"run": "r1", "fact": "f1"}


def _holder_process(settings: Settings) -> subprocess.Popen[str]:
    """Another process holding the lock until its standard input closes."""
    code = textwrap.dedent("""
        import sys
        from pathlib import Path
        from eventstore.location import StoreLocation
        from eventstore.store_lock import StoreLock
        location = StoreLocation.from_settings(Path(sys.argv[1]), sys.argv[2] or None)
        held = StoreLock(location, "verification").try_hold({"actor": "elsewhere"})
        print("held" if held else "refused", flush=True)
        sys.stdin.read()
        if held is not None:
            held.release({"run": "theirs"})
        print("released", flush=True)
    """)
    return subprocess.Popen([sys.executable, "-c", code, str(settings.data_dir),
                             settings.database_url or ""],
                            cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def test_another_process_holds_it_until_it_releases_or_dies(settings: Settings) -> None:
    here = StoreLock(StoreLocation.from_settings(settings.data_dir, settings.database_url),
                     "verification")
    # Another process holds it: refused here, and told who.
    with _holder_process(settings) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        assert here.try_hold({"actor": "here"}) is None
        assert here.holder() == {"actor": "elsewhere"}
        holder.stdin.close()
        assert holder.stdout.readline().strip() == "released"
    assert here.holder() is None and here.last() == {"run": "theirs"}
    # It holds it again, and dies without releasing it: the lock is free, and the note it left
    # behind is not taken for a holder.
    with _holder_process(settings) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert here.holder() == {"actor": "elsewhere"}
        holder.kill()
    # (PostgreSQL ends the dead client's session a moment later.)
    deadline = time.monotonic() + 10
    while here.holder() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert here.holder() is None
    held = here.try_hold({"actor": "here"})
    assert held is not None
    assert here.holder() == {"actor": "here"}
    held.release()
    # This process holds it: a process started now is refused.
    held = here.try_hold({"actor": "here"})
    assert held is not None
    try:
        with _holder_process(settings) as refused:
            assert refused.stdout is not None
            assert refused.stdout.readline().strip() == "refused"
    finally:
        held.release()
