"""PerProcess: the offline engines, readers and stores are built once per key,
even when many threads ask at once, and a failed build is tried again."""
import threading

import pytest

from chalicelib.core.once import PerProcess


def test_many_threads_build_once():
    cache: PerProcess[object] = PerProcess()
    builds = []
    start = threading.Barrier(8)
    got = []

    def build():
        builds.append(1)
        return object()

    def ask():
        start.wait()
        got.append(cache.get("key", build))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert len({id(item) for item in got}) == 1


def test_a_failed_build_is_tried_again():
    cache: PerProcess[str] = PerProcess()

    def broken():
        raise OSError("disk not mounted yet")

    with pytest.raises(OSError):
        cache.get("store", broken)
    assert cache.get("store", lambda: "opened") == "opened"


def test_keys_are_separate():
    cache: PerProcess[str] = PerProcess()
    assert cache.get("a", lambda: "A") == "A"
    assert cache.get("b", lambda: "B") == "B"
    assert cache.get("a", lambda: "other") == "A"
