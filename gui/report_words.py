"""The PDF report's own words in English and Bahasa Indonesia, by key.

The verdict, its number and its reasons come from the core's wording (``inference.wording``) with
the language's templates (``gui.wording.TEMPLATES``), so the report says what the screen, the CSV
and ``tilik log show`` say. What is only on paper (headings, the sign-off block, the footer) is
here. A test checks both languages have the same keys.
"""

from __future__ import annotations

from typing import Any, Callable

from inference import wording

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Tilik inspection report",
        "printed": "Printed {when} from {log}",
        "count_one": "1 inspection, oldest first",
        "count_many": "{n} inspections, oldest first",
        "nothing": "No inspections match this report.",
        "summary": "Summary",
        "col_id": "#",
        "col_time": "Time",
        "col_where": "Station / operator",
        "col_mode": "Mode",
        "col_pack": "Pack",
        "col_verdict": "Verdict",
        "col_conf": "Confidence",
        "col_review": "Review",
        "col_chain": "Chain",
        "mode_seal": "seal", "mode_signature": "signature", "mode_skin": "skin lesion", "mode_general": "general",
        "unreviewed": "not reviewed",
        "confirm": "confirmed by {by}",
        "overturn": "overturned to {label} by {by}",
        "escalate": "escalated by {by}",
        "confirm_refused": "refusal confirmed by {by}",
        "signoff": "Sign-off",
        "signoff_text": "The {n} inspections above were checked against the log head {head}.",
        "prepared_by": "Prepared by",
        "reviewed_by": "Reviewed by",
        "name": "Name",
        "signature": "Signature",
        "date": "Date",
        "details": "Inspection {id}",
        "operator": "operator {who}",
        "station": "station {where}",
        "page": "page {page} of {pages}",
        "continued": "Inspection {id} · chain position {seq}",
        "image": "Image ({kind})",
        "kind_original": "original", "kind_thumbnail": "thumbnail",
        "no_image": "No image kept",
        "no_heatmap": "No heatmap",
        "needs_review": "Needs review:",
        "guard_flagged": "Input guard flagged this image.",
        "class": "class",
        "probability": "probability",
        "refused_no_class": "No class: the image was refused.",
        "review": "Review",
        "not_reviewed": "Not reviewed by a person.",
        "when": "when", "decision": "decision", "by": "by", "why": "why",
        "decision_confirm": "confirm", "decision_overturn": "overturn", "decision_escalate": "escalate",
        "latest_in_force": "The latest review is in force. The machine's verdict above is kept unchanged.",
        "in_force_refused": "In force: refused — the refusal was confirmed by {by}.",
        "in_force_overturn": "In force: {label} — the machine said {machine}; overturned by {by}.",
        "in_force_confirm": "In force: {label} — confirmed by {by}.",
        "in_force_escalate": "Escalated by {by}: awaiting a decision.",
        "provenance": "Provenance",
        "pack": "pack", "manifest": "manifest", "run_on": "run on", "input_image": "input image",
        "stored_file": "stored file", "source": "source", "log_row": "log row",
        "not_stored": "(not stored)",
        "no_manifest_hash": "— (recorded before manifests were hashed)",
        "chain_position": "chain position {seq} · hash {hash}",
        "ood_score": "out-of-domain score", "input_guard": "input guard",
        "seal": "Seal", "seal_class": "class", "container": "Container",
        "check_ok": "check digit OK",
        "check_bad": "CHECK DIGIT WRONG — confirmed by operator",
        "check_format": "NOT ISO 6346 — confirmed by operator",
        "vvtt": "VVTT", "view": "view", "verify": "verify", "tug": "tug", "twist": "twist",
        "yes": "yes", "no": "NO", "not_done": "—",
        "customer": "Customer", "document": "document",
        "patient": "Patient", "body_site": "body site", "withheld": "(withheld)",
        "decision_support": "Decision support only, never a diagnosis.",
        "signature_check": "Signature against the customer's references",
        "score_threshold": "score {score} · threshold {threshold}",
        "overlay_caption": "Overlay with reference #{ref}: yellow both, red reference only, green query only",
        "ref": "reference", "enrolled": "enrolled", "from_document": "from document", "score": "score",
        "closest": "closest (overlay)",
        "refs_recomputed": "Per-reference scores recomputed from the stored images with the same model "
                           "(model SHA-256 matches the record).",
        "refs_differ": "Recomputed overall score {score} differs from the recorded {recorded}: treat these "
                       "per-reference scores with care.",
        "refs_missing": "Per-reference scores and the overlay are not available: {why}.",
        "why_thumbnail": "only a thumbnail of the query was kept",
        "why_no_image": "the query image was not kept",
        "why_no_refs": "the record names no enrolled references",
        "why_ref_missing": "reference #{ref} is missing from this log",
        "why_pack": "the model that made this verdict ({version}) is not installed here",
        "why_failed": "they could not be recomputed ({error})",
        "why_not_here": "this copy of the log does not keep the reference images",
        "chain_ok": "chain verified intact ({n} rows)",
        "chain_broken": "CHAIN BROKEN at {where}: {reason}",
        "footer": "Printed {when} from {log} · log head {seq}:{hash} · {chain}",
        "head_unsigned": " · head not signed",
        "head_signed": " · head signed by key {key} (station {station}) at {time}, signature {signature}",
    },
    "id": {
        "title": "Laporan pemeriksaan Tilik",
        "printed": "Dicetak {when} dari {log}",
        "count_one": "1 pemeriksaan, terlama lebih dulu",
        "count_many": "{n} pemeriksaan, terlama lebih dulu",
        "nothing": "Tidak ada pemeriksaan yang cocok untuk laporan ini.",
        "summary": "Ringkasan",
        "col_id": "#",
        "col_time": "Waktu",
        "col_where": "Stasiun / operator",
        "col_mode": "Mode",
        "col_pack": "Paket",
        "col_verdict": "Hasil",
        "col_conf": "Keyakinan",
        "col_review": "Tinjauan",
        "col_chain": "Rantai",
        "mode_seal": "segel", "mode_signature": "tanda tangan", "mode_skin": "lesi kulit", "mode_general": "umum",
        "unreviewed": "belum ditinjau",
        "confirm": "dikonfirmasi oleh {by}",
        "overturn": "dibatalkan menjadi {label} oleh {by}",
        "escalate": "dieskalasi oleh {by}",
        "confirm_refused": "penolakan dikonfirmasi oleh {by}",
        "signoff": "Pengesahan",
        "signoff_text": "{n} pemeriksaan di atas telah dicocokkan dengan kepala log {head}.",
        "prepared_by": "Disiapkan oleh",
        "reviewed_by": "Ditinjau oleh",
        "name": "Nama",
        "signature": "Tanda tangan",
        "date": "Tanggal",
        "details": "Pemeriksaan {id}",
        "operator": "operator {who}",
        "station": "stasiun {where}",
        "page": "halaman {page} dari {pages}",
        "continued": "Pemeriksaan {id} · posisi rantai {seq}",
        "image": "Gambar ({kind})",
        "kind_original": "asli", "kind_thumbnail": "gambar kecil",
        "no_image": "Gambar tidak disimpan",
        "no_heatmap": "Tidak ada peta panas",
        "needs_review": "Perlu ditinjau:",
        "guard_flagged": "Pemeriksa masukan menandai gambar ini.",
        "class": "kelas",
        "probability": "probabilitas",
        "refused_no_class": "Tidak ada kelas: gambar ditolak.",
        "review": "Tinjauan",
        "not_reviewed": "Belum ditinjau oleh orang.",
        "when": "kapan", "decision": "keputusan", "by": "oleh", "why": "alasan",
        "decision_confirm": "konfirmasi", "decision_overturn": "batalkan", "decision_escalate": "eskalasi",
        "latest_in_force": "Tinjauan terakhir yang berlaku. Hasil mesin di atas tetap tidak diubah.",
        "in_force_refused": "Berlaku: ditolak — penolakan dikonfirmasi oleh {by}.",
        "in_force_overturn": "Berlaku: {label} — mesin menyatakan {machine}; dibatalkan oleh {by}.",
        "in_force_confirm": "Berlaku: {label} — dikonfirmasi oleh {by}.",
        "in_force_escalate": "Dieskalasi oleh {by}: menunggu keputusan.",
        "provenance": "Asal-usul",
        "pack": "paket", "manifest": "manifes", "run_on": "dijalankan pada", "input_image": "gambar masukan",
        "stored_file": "berkas tersimpan", "source": "sumber", "log_row": "baris log",
        "not_stored": "(tidak disimpan)",
        "no_manifest_hash": "— (dicatat sebelum manifes di-hash)",
        "chain_position": "posisi rantai {seq} · hash {hash}",
        "ood_score": "skor di luar domain", "input_guard": "pemeriksa masukan",
        "seal": "Segel", "seal_class": "kelas", "container": "Kontainer",
        "check_ok": "digit periksa benar",
        "check_bad": "DIGIT PERIKSA SALAH — dikonfirmasi operator",
        "check_format": "BUKAN ISO 6346 — dikonfirmasi operator",
        "vvtt": "VVTT", "view": "lihat", "verify": "verifikasi", "tug": "tarik", "twist": "putar",
        "yes": "ya", "no": "TIDAK", "not_done": "—",
        "customer": "Nasabah", "document": "dokumen",
        "patient": "Pasien", "body_site": "lokasi tubuh", "withheld": "(dirahasiakan)",
        "decision_support": "Hanya pendukung keputusan, bukan diagnosis.",
        "signature_check": "Tanda tangan dibandingkan dengan referensi nasabah",
        "score_threshold": "skor {score} · ambang {threshold}",
        "overlay_caption": "Tumpang-tindih dengan referensi #{ref}: kuning keduanya, merah hanya referensi, "
                           "hijau hanya yang diperiksa",
        "ref": "referensi", "enrolled": "didaftarkan", "from_document": "dari dokumen", "score": "skor",
        "closest": "terdekat (tumpang-tindih)",
        "refs_recomputed": "Skor per referensi dihitung ulang dari gambar tersimpan dengan model yang sama "
                           "(SHA-256 model cocok dengan catatan).",
        "refs_differ": "Skor keseluruhan hasil hitung ulang {score} berbeda dari yang dicatat {recorded}: "
                       "perlakukan skor per referensi ini dengan hati-hati.",
        "refs_missing": "Skor per referensi dan tumpang-tindih tidak tersedia: {why}.",
        "why_thumbnail": "hanya gambar kecil dari tanda tangan yang diperiksa yang disimpan",
        "why_no_image": "gambar yang diperiksa tidak disimpan",
        "why_no_refs": "catatan ini tidak menyebut referensi terdaftar",
        "why_ref_missing": "referensi #{ref} tidak ada di log ini",
        "why_pack": "model yang membuat hasil ini ({version}) tidak terpasang di sini",
        "why_failed": "skor tidak dapat dihitung ulang ({error})",
        "why_not_here": "salinan log ini tidak menyimpan gambar referensi",
        "chain_ok": "rantai terverifikasi utuh ({n} baris)",
        "chain_broken": "RANTAI RUSAK di {where}: {reason}",
        "footer": "Dicetak {when} dari {log} · kepala log {seq}:{hash} · {chain}",
        "head_unsigned": " · kepala tidak ditandatangani",
        "head_signed": " · kepala ditandatangani kunci {key} (stasiun {station}) pada {time}, tanda tangan "
                       "{signature}",
    },
}


def report_language(language: str | None) -> str:
    """The report's language: the one asked for, else the app's current one, else English."""
    if language is None:
        try:
            from gui.wording import current_language

            language = current_language()
        except Exception:  # noqa: BLE001 - no app language set up (the CLI): English
            language = "en"
    return language if language in WORDS else "en"


def pct(value: float, language: str) -> str:
    """A share as a percentage with one decimal, written as the language writes numbers."""
    text = f"{100.0 * float(value):.1f}%"
    return text.replace(".", ",") if language == "id" else text


def words(language: str) -> Callable[..., str]:
    """``say(key, **values)`` in ``language``."""
    table = WORDS[language]

    def say(_key: str, **values: Any) -> str:
        return table.get(_key, WORDS["en"][_key]).format(**values)

    return say


def verdict_language(pack_id: str | None, language: str) -> wording.Language:
    """The core's :class:`~inference.wording.Language` for one pack's record in the report's language."""
    from gui import wording as gui_wording

    table = gui_wording.TEMPLATES.get(language)
    template = (lambda code: table.get(code) or wording.TEMPLATES[code]) if table else wording.TEMPLATES.__getitem__
    return wording.Language(
        template=template, pct=lambda v: pct(v, language),
        pack_word=lambda kind, key, english: gui_wording.pack_word(pack_id, kind, key, english, language))


def class_label(pack_id: str | None, name: str, language: str) -> str:
    """A class's human label (the manifest's, never a bare WordNet id) in the report's language."""
    from gui import wording as gui_wording

    manifest = gui_wording._manifest(pack_id) if pack_id else None
    english = manifest.class_label(name) if manifest is not None else name
    return gui_wording.pack_word(pack_id, "class", name, english, language)
