"""Signature mode's workflow: customers and their reference signatures, verification, the log.

- Find a customer by id (``InspectionLog.references``), or enrol a new one: reference files are
  read and checked in a worker (they must decode and hold ink), then enrolled by the GUI thread
  (``InspectionLog.enrol_reference``: who from Settings, when, from which document).
- Retire a reference (``InspectionLog.retire_reference``): never deleted, shown greyed when asked.
- A customer with no references here is looked up on the central server too, when one is set
  (Settings, or ``TILIK_CENTRAL_URL``): fetched on the pool, added to the log on the log's thread
  (:mod:`inference.log.central.refs`). Offline, the window works with what this station has.
- Verify the query (file, drop, paste, camera: the window's usual input paths) against the
  customer's active references with :class:`gui.signature_worker.VerifyTask` on the window's pool;
  an answer to a superseded request (another query, another customer) is dropped.
- Every verification is recorded (on the log's own thread, like every write) with the customer, the document, the reference
  set, the score and the threshold (``InspectionLog.record_result(signature=SignatureFields(...))``).

Writes (enrolment, retirement, verifications) run on the log's own thread in the order asked
(:meth:`gui.tasks.TaskRunner.write`); verification workers get the reference images as file paths.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from PySide6.QtCore import QLocale, QObject, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QWidget

from gui.signature_worker import (PackPolicy, ReferenceCandidate, ReferenceInfo, SignatureCheck, VerifierCache,
                                  VerifyTask, check_reference_files, load_thumbnails)
from gui import wording as gui_wording
from gui.widgets.common import elide_middle
from gui.state import AppState
from gui.tasks import Latest, TaskRunner
from gui.workers import Failure, record_one
from inference.errors import TilikError, UsageError


log = logging.getLogger(__name__)


class SignatureController(QObject):
    """Owns Signature mode's state; the window routes its inputs here in that mode."""

    verified = Signal(object)  # SignatureCheck, once shown (and recorded)

    def __init__(self, state: AppState, runner: TaskRunner, logbook: Any, panel: Any, view: Any, camera: Any,
                 heat_toggled: Any, dialog_parent: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.logbook = state, runner, logbook
        self.panel = panel
        self.view = view
        self.camera = camera
        self.dialog_parent = dialog_parent  # the widget its dialogs are modal to
        self.verifiers = VerifierCache()
        self.customer: str | None = None
        self.refs: list[Any] = []            # the customer's references, retired included
        self.thumbs: dict[int, Any] = {}     # reference id → QImage
        self.current: SignatureCheck | None = None
        self.checks: list[SignatureCheck] = []
        self._verify = Latest()
        self._find = Latest()
        self._thumb = Latest()
        self._enrol = Latest()
        self._dialogs: list[QDialog] = []
        self.panel.find_requested.connect(lambda: self.find_customer())
        self.panel.customer_edited.connect(self._customer_edited)
        self.panel.enrol_requested.connect(lambda: self.enrol_dialog())
        self.panel.files_dropped.connect(lambda files: self.enrol_dialog([Path(f) for f in files]))
        self.panel.retire_requested.connect(self.retire_dialog)
        self.panel.show_retired_changed.connect(lambda _on: self._show_customer())
        heat_toggled.connect(self.view.set_heatmap_visible)

    # ================================================================ state
    def pack(self) -> Any:
        pack = self.state.pack
        if pack is None or pack.manifest is None or pack.manifest.task != "verify":
            return None
        return pack

    def policy(self) -> PackPolicy:
        return PackPolicy.of(self.pack())

    def active_references(self) -> list[Any]:
        return [r for r in self.refs if not r.retired]

    def apply_mode(self, reason: str | None) -> None:
        """The window's mode or pack changed (called from its ``_apply_mode_ui``)."""
        pack = self.pack()
        self.panel.set_available(pack is not None and not reason, reason or "")
        policy = self.policy()
        n = max(1, len(self.active_references()) or policy.min_references)
        strict = policy.strict_threshold(n)
        self.panel.set_strict_threshold(None if strict is None else self._pct(strict))
        self.view.set_references_state(policy, len(self.active_references()) if self.customer else 0)

    @staticmethod
    def _pct(value: float) -> str:
        return QLocale().toString(100.0 * float(value), "f", 1) + "%"

    def is_busy(self) -> bool:
        return any(latest.pending() for latest in (self._verify, self._thumb, self._enrol, self._find))

    def _error(self, message: str) -> None:
        self.state.fail(Failure(UsageError(message)))

    # ================================================================ customers
    def _customer_edited(self, _text: str) -> None:
        if self.customer is not None and self.panel.customer_id() != self.customer:
            self._set_customer(None, [])  # never verify against the previous customer's references
        else:
            self.panel.retranslate()  # the status line and the Find button follow the text

    def find_customer(self, customer_id: str | None = None, then: Any = None) -> bool:
        """Load a customer's references (retired included) from the log, in a worker; ``then()``
        runs once they are shown. False when it cannot ask (no id, no log)."""
        if customer_id is not None:
            self.panel.customer.setText(customer_id)
        cid = self.panel.customer_id()
        if not cid:
            self.panel.customer.setFocus()
            return False
        if self.state.log is None:
            self._error(self.state.log_problem or self.tr("The inspection log is not open yet: reference signatures "
                                                      "live in it. Try again in a moment."))
            return False
        def found(refs: list[Any]) -> None:
            if self.panel.customer_id() != cid:
                return  # another id was typed meanwhile
            self._set_customer(cid, refs)
            if not refs:
                self._look_centrally(cid)
            if then is not None:
                then()

        self._find.set(self.runner.read(self.state.log.references, cid, include_retired=True, on_ok=found,
                                        on_fail=self.state.fail))
        return True

    def _look_centrally(self, cid: str) -> None:
        """Ask the central server (if one is set) for references enrolled at other stations."""
        url = self.state.settings.central_url_in_force()
        if not url:
            return
        from inference.log.central.config import resolve
        from inference.log.central.refs import apply_shared, fetch_shared
        from inference.log.recording import default_station

        try:
            config = resolve(url)
        except TilikError as exc:
            self.state.say(str(exc), 10000)
            return
        log_now = self.state.log
        station = self.state.settings.station or default_station()
        self.state.say(self.tr("Looking for {id} on the central server…").format(id=cid), 5000)

        def offline(failure: Failure) -> None:
            self.state.say(self.tr("Central server not reachable ({why}); using this station's "
                                                   "references only.").format(why=failure.message), 10000)

        def added(result: Any) -> None:
            if cid != self.customer or self.state.log is not log_now:
                return
            if result.added or result.retired:
                self.find_customer(cid)  # re-read (in a worker) with what came from the server
            self.state.say(
                self.tr("{n} reference(s) of {id} added from the central server.").format(n=result.added, id=cid)
                if result.added else self.tr("The central server has no references of {id} either.").format(id=cid),
                8000)

        def fetched(shared: Any) -> None:
            if cid != self.customer or self.state.log is not log_now:
                return  # another customer (or another log) meanwhile
            self.runner.write(apply_shared, log_now, shared, station, on_ok=added, on_fail=offline)

        self.runner.read(fetch_shared, config, cid, on_ok=fetched, on_fail=offline)

    def _set_customer(self, cid: str | None, refs: list[Any]) -> None:
        if cid != self.customer:
            self._verify.clear()  # a running check was for someone else: drop its answer
            self.thumbs = {}
            if self.current is not None:
                self.current = None
                self.view.show_empty()
        self.customer = cid
        self.refs = list(refs)
        self._show_customer()
        self._load_thumbnails()
        self.apply_mode(self.state.unusable_reason("signature") if self.state.packs_loaded else None)

    def _show_customer(self) -> None:
        self.panel.set_customer(self.customer, self.refs, self.policy().min_references)
        for ref_id, image in self.thumbs.items():
            self.panel.set_thumbnail(ref_id, image)

    def _load_thumbnails(self) -> None:
        todo = []
        for ref in self.refs:
            if ref.id in self.thumbs:
                continue
            path = self._reference_path(ref)
            todo.append((ref.id, str(path) if path is not None else None))
        if not todo:
            return
        customer = self.customer

        def done(thumbs: dict[int, Any]) -> None:
            if customer != self.customer:
                return
            for ref_id, image in thumbs.items():
                if image is not None:
                    self.thumbs[ref_id] = image
                    self.panel.set_thumbnail(ref_id, image)

        self._thumb.set(self.runner.read(load_thumbnails, todo, on_ok=done,
                                         on_fail=lambda f: self.state.say(f.message, 8000)))

    def _reference_path(self, ref: Any) -> Path | None:
        try:
            path = self.state.log.stored_image_path(ref)
        except TilikError:
            return None
        return Path(path) if path is not None and Path(path).is_file() else None

    # ================================================================ enrolment
    def enrol_dialog(self, paths: Sequence[Path] | None = None) -> QDialog | None:
        """Ask for the files (unless given) and the source document, then enrol."""
        if self.customer is None:
            self._error(self.tr("Find the customer first: type their customer or account id and press Find. A new "
                                "id starts a new customer."))
            return None
        if paths is None:
            from inference.imageio import IMAGE_EXTENSIONS

            exts = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
            files, _ = QFileDialog.getOpenFileNames(
                self.dialog_parent, self.tr("Reference signatures of {id}").format(id=self.customer), self.state.settings.last_dir,
                self.tr("Images ({exts});;All files (*)").format(exts=exts))
            if not files:
                return None
            self.state.settings.last_dir = str(Path(files[0]).parent)
            paths = [Path(f) for f in files]
        from gui.widgets.signature_enrol import EnrolDialog

        dialog = EnrolDialog(self.customer, list(paths), self.state.operator(), self.dialog_parent)
        customer = self.customer

        def accepted() -> None:
            files, document, note = dialog.values()
            if customer == self.customer:
                self.enrol_files(files, document, note)

        dialog.accepted.connect(accepted)
        self._keep(dialog)
        dialog.open()
        self.enrol_dialog_shown = dialog
        return dialog

    def _keep(self, dialog: QDialog) -> None:
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda _r, d=dialog: (self._dialogs.remove(d) if d in self._dialogs else None,
                                                      d.deleteLater()))

    def enrol_files(self, paths: Sequence[str | Path], document: str, note: str = "") -> int:
        """Check the files in a worker, then enrol the usable ones (GUI thread). Returns the request id."""
        if self.customer is None:
            self._error(self.tr("Find the customer first."))
            return 0
        if not document.strip():
            self._error(self.tr("Say which document the reference signatures come from (for example the account "
                                "opening form)."))
            return 0
        pack = self.pack()
        if pack is None:
            self._error(self.state.unusable_reason("signature") or self.tr("Signature verification pack not installed"))
            return 0
        customer = self.customer
        self.state.say(self.tr("Checking {n} reference signature(s)…").format(n=len(paths)))
        return self._enrol.set(self.runner.read(
            check_reference_files, self.verifiers, pack, self.state.settings.provider_argument(),
            [str(p) for p in paths],
            on_ok=lambda cands: self._enrol_checked(customer, cands, document, note), on_fail=self.state.fail))

    def _enrol_checked(self, customer: str, candidates: list[ReferenceCandidate], document: str, note: str) -> None:
        if customer != self.customer or self.state.log is None:
            return
        by = self.state.operator()
        thumbs = {id(c): c.thumb for c in candidates}
        self._enrol.set(self.runner.write(enrol_candidates, self.state.log, customer, candidates, by, document, note,
                                          on_ok=lambda outcome: self._enrolled(customer, outcome, thumbs),
                                          on_fail=self.state.fail))

    def _enrolled(self, customer: str, outcome: tuple[list[tuple[Any, Any]], list[str]],
                  thumbs: dict[int, Any]) -> None:
        enrolled, problems = outcome
        for ref, cand_key in enrolled:
            if thumbs.get(cand_key) is not None:
                self.thumbs[ref.id] = thumbs[cand_key]
        if enrolled:
            self.state.log_grew.emit()
            self.state.say(self.tr("Enrolled {n} reference signature(s) for {id}.").format(
                n=len(enrolled), id=customer), 8000)
        if customer == self.customer:
            self.find_customer(customer)
        if problems:
            head = self.tr("{n} file(s) could not be enrolled as reference signatures:").format(n=len(problems))
            self._error(head + "\n\n" + "\n".join("• " + p for p in problems))

    # ================================================================ retiring
    def retire_dialog(self, ref_id: int) -> QDialog | None:
        if self.customer is None:
            return None
        from gui.widgets.signature_enrol import RetireDialog

        dialog = RetireDialog(ref_id, self.customer, self.dialog_parent)
        dialog.accepted.connect(lambda: self.retire(ref_id, dialog.reason()))
        self._keep(dialog)
        dialog.open()
        self.retire_dialog_shown = dialog
        return dialog

    def retire(self, ref_id: int, why: str) -> bool:
        """Retire a reference (on the log's thread; it stays in the log, marked retired)."""
        if self.state.log is None:
            self._error(self.state.log_problem or self.tr("The inspection log is not open."))
            return False
        customer = self.customer

        def retired(_result: Any) -> None:
            self.state.log_grew.emit()
            self.state.say(self.tr("Reference #{id} retired; it stays in the log.").format(id=ref_id), 8000)
            if self.customer is not None and self.customer == customer:
                self.find_customer(self.customer)

        self.runner.write(self.state.log.retire_reference, ref_id, self.state.operator(), why, on_ok=retired,
                          on_fail=self.state.fail)
        return True

    # ================================================================ verification
    def verify_source(self, source: Any, name: str, origin: str) -> int:
        """Verify one query (path, bytes, RGB array or QImage) against the customer's active references."""
        if origin == "live":
            self.camera.set_busy(False)  # no live verification: a clerk captures the signature
            return 0
        pack = self.pack()
        if pack is None:
            self._error(self.state.unusable_reason("signature") or self.tr("Signature verification pack not installed"))
            return 0
        if self.customer is None or self.panel.customer_id() != self.customer:
            # The typed customer is looked up first (in a worker), then the query is checked.
            if self.panel.customer_id() and self.find_customer(then=lambda: self.verify_source(source, name, origin)):
                return 0
            else:
                self._error(self.tr("Find the customer first: type their customer or account id and press Find, "
                                    "then check the signature."))
                self.panel.customer.setFocus()
                return 0
        active = self.active_references()
        if not active:
            self._error(self.tr("Customer “{id}” has no active reference signatures. Add their specimen signatures "
                                "(Add references…) before checking one.").format(id=self.customer))
            return 0
        refs = []
        for ref in active:
            path = self._reference_path(ref)
            if path is None:
                self._error(self.tr("The image of reference #{id} is missing from the log's folder. Run "
                                    "“Verify log chain”, or retire that reference.").format(id=ref.id))
                return 0
            refs.append(ReferenceInfo(ref.id, str(path), ref.source_document))
        if origin == "camera":
            self.camera.live.setChecked(False)
        strict = self.panel.strict.isChecked() and self.panel.strict.isEnabled()
        holder: dict[str, Any] = {}
        op = self.runner.start(VerifyTask, self.verifiers, pack, self.state.settings.provider_argument(), source,
                               name, origin, customer_id=self.customer, document_ref=self.panel.document_ref(),
                               references=refs, strict=strict,
                               on_ok=lambda check: self._verified(check, holder["op"]),
                               on_fail=lambda failure: self._verify_failed(failure, holder["op"]))
        holder["op"] = op
        self._verify.set(op)
        self.state.show_tab.emit(0)
        self.view.show_busy(Path(name).name if origin == "file" else name)
        self.view.caption.setText(elide_middle(name, 90))
        return op

    def _verified(self, check: SignatureCheck, op: Any) -> None:
        if not self._verify.is_current(op) or check.customer_id != self.customer:
            return  # superseded: another query or another customer since
        self._record(check)
        self.current = check
        self.checks.append(check)
        del self.checks[:-20]
        for old in self.checks[:-1]:
            old.log_image = None
        self.view.show_check(check, self._record_note(check))
        self.verified.emit(check)

    def _verify_failed(self, failure: Failure, op: Any) -> None:
        if not self._verify.is_current(op):
            return
        self.current = None
        error = failure.error
        refused = None
        if getattr(error, "role", "") == "query" and getattr(error, "image", None) is not None:
            # The pack refused the query as not a signature: the screen says so in the verdict's
            # own words ("Refused: not a signature"), as the log, History and PDF do (issue 20).
            from inference.log.verification import refused_verification_as_inspection

            refused = refused_verification_as_inspection(error, getattr(error, "manifest", None),
                                                         getattr(error, "provider", ""))
        self.view.show_error(failure.message, elide_middle(failure.source, 90),
                             headline=gui_wording.headline(refused) if refused is not None else "")
        self.state.say(failure.message, 10000)
        self.state.fail(failure)
        if refused is not None:
            self._record_refusal(error, refused)

    def _record_refusal(self, error: BaseException, result: Any) -> None:
        """A query the pack refused as not a signature is logged as a refusal (no class, no score)."""
        if self.state.log is None or self.customer is None:
            return
        from inference.log import SignatureFields
        fields = SignatureFields(customer_id=self.customer, document_ref=self.panel.document_ref(),
                                 reference_ids=tuple(r.id for r in self.active_references()))

        def saved(record: Any) -> None:
            self.view.details.setText(self.tr("Saved to the log as inspection #{id}").format(id=record.id))
            self.state.log_written.emit(record)

        self.runner.write(record_one, self.state.log, result, getattr(error, "log_image", None), signature=fields,
                          on_ok=saved, on_fail=lambda failure: None, **self.state.log_kwargs("signature"))

    def _record_note(self, check: SignatureCheck) -> str:
        if check.record_id is not None:
            return self.tr("Saved to the log as inspection #{id}").format(id=check.record_id)
        if check.log_error:
            return self.tr("Not saved to the log: {reason}").format(reason=check.log_error)
        return ""

    def _record(self, check: SignatureCheck) -> None:
        """Have the verification written to the log, on the log's own thread (as every write is)."""
        if self.state.log is None:
            check.log_error = self.state.log_problem or self.tr("the inspection log is not open")
            return
        from inference.log import SignatureFields

        r = check.result
        fields = SignatureFields(customer_id=check.customer_id, document_ref=check.document_ref,
                                 reference_ids=check.reference_ids, score=float(r.score),
                                 threshold=float(r.threshold))
        self.runner.write(record_one, self.state.log, check.record, check.log_image, signature=fields,
                          on_ok=lambda record: self._recorded(check, record),
                          on_fail=lambda failure: self._not_recorded(check, failure),
                          **self.state.log_kwargs("signature"))

    def _recorded(self, check: SignatureCheck, record) -> None:
        check.record_id = record.id
        check.log_error = None
        check.log_image = None
        check.record = None  # the log has it now
        if check is self.current:
            self.view.set_record_note(self._record_note(check))
        self.state.log_written.emit(record)

    def _not_recorded(self, check: SignatureCheck, failure: Failure) -> None:
        check.log_error = failure.message
        if check is self.current:
            self.view.set_record_note(self._record_note(check))
        if failure.known:
            self.state.say(self.tr("Not saved to the log: {reason}").format(reason=failure.message), 15000)
        else:  # a bug in saving must not lose the verdict on screen
            self.state.fail(failure)


def enrol_candidates(log: Any, customer: str, candidates: list[ReferenceCandidate], by: str, document: str,
                     note: str) -> tuple[list[tuple[Any, int]], list[str]]:
    """Enrol the usable candidates (on the log's thread): ((reference, candidate key), …) and the
    problems, in words, of the files that could not be enrolled."""
    enrolled, problems = [], []
    for cand in candidates:
        if cand.error is not None or cand.data is None:
            problems.append(cand.error or cand.path)
            continue
        try:
            ref = log.enrol_reference(customer, cand.data, by, document, note)
        except TilikError as exc:
            problems.append(f"{Path(cand.path).name}: {exc}")
            continue
        enrolled.append((ref, id(cand)))
    return enrolled, problems
