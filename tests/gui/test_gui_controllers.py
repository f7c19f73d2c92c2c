"""Controllers on their own (no window): each gets the application state, the task runner and
the widgets it drives. Real SQLite logs and real tiny ONNX packs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui_packs import build_gui_packs, image


@pytest.fixture
def parts(qtbot, settings, tmp_path):
    from gui.app import create_application
    from gui.state import AppState
    from gui.tasks import TaskRunner

    create_application([])
    settings.db_path = str(tmp_path / "log.sqlite3")
    state, runner = AppState(settings), TaskRunner()
    messages = []
    state.message.connect(lambda text, ms: messages.append(text))
    yield state, runner, messages
    runner.shutdown()
    runner.wait_for_writes()
    if state.log is not None:
        state.log.close()


def _result(tmp_path: Path):
    from inference.inspector import Inspector
    from inference.registry import PackRegistry

    folder = build_gui_packs(tmp_path / "models", ("general",))
    pack = next(p for p in PackRegistry([(folder, "bundled")]).all() if p.manifest.mode == "general")
    return Inspector(pack, "cpu").classify(image("red"), name="red.png")


def test_log_controller_opens_writes_and_checks_the_chain_off_the_gui_thread(qtbot, parts, tmp_path):
    from gui.controllers.logbook import LogController

    state, runner, _ = parts
    logbook = LogController(state, runner)
    written, failed = [], []
    result = _result(tmp_path)
    logbook.open_log()  # in a worker
    logbook.record("general", result, None, on_ok=written.append, on_fail=failed.append)  # while it opens
    assert state.log_opening and logbook.waiting()
    qtbot.waitUntil(lambda: bool(written), timeout=10000)  # the write waited for the log, then ran
    assert written[0].id == 1 and written[0].operator == "Ana" and not failed
    logbook.verify_chain()
    qtbot.waitUntil(lambda: state.chain_status is not None, timeout=10000)
    assert state.chain_status.ok and logbook.chain_text() == "Log: chain intact ✓"
    closed = []
    logbook.shift_closed.connect(closed.append)
    assert logbook.close_shift()
    qtbot.waitUntil(lambda: bool(closed), timeout=10000)
    assert closed[0].ok


def test_history_model_pages_through_a_real_log(qtbot, parts, tmp_path):
    from gui.widgets.history_model import PAGE_SIZE, HistoryModel
    from inference.log import InspectionLog, LogQuery

    state, runner, _ = parts
    log = InspectionLog.open(tmp_path / "paging.sqlite3")
    log.record_results([_result(tmp_path)] * (PAGE_SIZE + 20), operator="bulk")
    model = HistoryModel()
    model.run = lambda fn, ok, fail: runner.read(fn, on_ok=ok, on_fail=lambda f: fail(f.error))
    model.query = LogQuery(limit=PAGE_SIZE)
    model.set_log(log)
    assert model.rowCount() == 0  # nothing is read in the GUI thread
    qtbot.waitUntil(lambda: model.rowCount() == PAGE_SIZE, timeout=10000)
    assert model.total == PAGE_SIZE + 20 and model.canFetchMore()
    model.fetchMore()
    assert not model.canFetchMore()  # one page at a time
    qtbot.waitUntil(lambda: model.rowCount() == PAGE_SIZE + 20, timeout=10000)
    log.close()


def test_input_router_sends_a_folder_to_a_batch_but_not_in_signature_mode(qtbot, parts, tmp_path):
    from gui.controllers.inputs import InputRouter
    from gui.widgets.camera import CameraPanel

    state, runner, messages = parts

    class Recorder:
        def __init__(self):
            self.calls = []

        def start(self, items):
            self.calls.append(("batch", items))

        def inspect_source(self, *args):
            self.calls.append(("inspect", args))

        def verify_source(self, *args):
            self.calls.append(("verify", args))

    inspect, signature, batch = Recorder(), Recorder(), Recorder()
    router = InputRouter(state, inspect, signature, batch, CameraPanel(), None)
    state.pack = object()  # a usable pack is chosen
    state.mode = "general"
    router.open_paths([tmp_path])
    assert batch.calls == [("batch", [tmp_path])]
    state.mode = "signature"
    router.open_paths([tmp_path])
    assert batch.calls == [("batch", [tmp_path])] and "one signature at a time" in messages[-1]
    one = tmp_path / "a.png"
    one.write_bytes(b"x")
    router.open_paths([one])
    assert signature.calls and signature.calls[0][0] == "verify"
