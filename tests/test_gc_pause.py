"""The collector pause around loading: restored after loads that nest, overlap, fail; never switched on if off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

import accountrules
from accountrules.errors import PolicyError
from accountrules.gc_pause import paused_gc


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_restored_after_nesting_and_errors() -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still open
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), paused_gc():
        1 / 0  # noqa: B018
    assert gc.isenabled()


def test_a_collector_the_application_switched_off_stays_off() -> None:
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_loads_in_threads_leave_the_collector_as_it_was() -> None:
    errors: list[BaseException] = []

    def load(i: int) -> None:
        try:
            for _ in range(3):
                accountrules.load_policy("express")
                with pytest.raises(PolicyError):
                    accountrules.load_policy_text(f"policy: [{i}", name="bad.yaml")
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert gc.isenabled()
