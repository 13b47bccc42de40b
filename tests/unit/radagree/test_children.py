"""Process placement: only the thread given `idle_thread` runs under SCHED_IDLE; its process
(the store transactions) keeps its scheduling."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from radagree.children import idle_thread


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling policies only")
def test_idle_thread_lowers_only_its_own_thread():
    before = os.sched_getscheduler(0)
    with ThreadPoolExecutor(1, initializer=idle_thread) as pool:
        policy = pool.submit(os.sched_getscheduler, 0).result()
    assert policy == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == before != os.SCHED_IDLE
