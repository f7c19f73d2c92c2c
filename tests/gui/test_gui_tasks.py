"""The background-operation API (gui/tasks.py): callbacks per operation, superseding, the log's
writes in order on their own thread."""

from __future__ import annotations

import threading
import time

import pytest

from inference.errors import TilikError


@pytest.fixture
def runner(qtbot):
    from gui.app import create_application
    from gui.tasks import TaskRunner

    create_application([])
    r = TaskRunner()
    yield r
    r.shutdown()
    r.wait_for_writes()


def test_a_read_answers_in_the_gui_thread_with_its_own_callback(qtbot, runner):
    gui_thread = threading.get_ident()
    seen = {}

    def work(x):
        seen["worker"] = threading.get_ident()
        return x * 2

    op = runner.read(work, 21, on_ok=lambda v: seen.update(value=v, answered=threading.get_ident()))
    qtbot.waitUntil(lambda: "value" in seen)
    assert seen["value"] == 42 and seen["answered"] == gui_thread and seen["worker"] != gui_thread
    assert op.done and not runner.busy()


def test_a_failure_goes_to_on_fail_in_words(qtbot, runner):
    failures = []

    def boom():
        raise TilikError("the disk is full")

    runner.read(boom, on_ok=lambda v: pytest.fail("no result"), on_fail=failures.append)
    qtbot.waitUntil(lambda: bool(failures))
    assert failures[0].known and "disk is full" in failures[0].message


def test_latest_drops_superseded_answers(qtbot, runner):
    from gui.tasks import Latest

    latest, answers = Latest(), []
    slow = latest.set(runner.read(lambda: (time.sleep(0.2), "old")[1], on_ok=answers.append))
    latest.set(runner.read(lambda: "new", on_ok=answers.append))
    qtbot.waitUntil(lambda: not runner.busy(), timeout=5000)
    assert answers == ["new"] and slow.dropped


def test_writes_run_one_at_a_time_in_the_order_asked(qtbot, runner):
    order, active, overlap = [], [0], []

    def write(i):
        active[0] += 1
        overlap.append(active[0])
        time.sleep(0.01 * (5 - i))  # later writes are quicker: order must still hold
        order.append(i)
        active[0] -= 1
        return i

    done = []
    for i in range(5):
        runner.write(write, i, on_ok=done.append)
    qtbot.waitUntil(lambda: len(done) == 5, timeout=5000)
    assert order == done == [0, 1, 2, 3, 4] and max(overlap) == 1


def test_after_closing_no_answer_is_delivered(qtbot, runner):
    answers = []
    runner.read(lambda: (time.sleep(0.1), 1)[1], on_ok=answers.append)
    runner.closing = True
    qtbot.wait(300)
    assert answers == []
