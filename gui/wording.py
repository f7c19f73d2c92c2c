"""The verdict model in the app's language: the core's wording functions (inference.wording) with
this language's templates, the user's locale for percentages and the pack's own words.

English is the core's text unchanged, so the screen says exactly what the CLI, the CSV and the PDF
say. Other languages translate BY CODE from :data:`TEMPLATES` below (never by parsing English);
pack words (class labels, verdict words, pack names, what a pack looks at) come from the pack
manifest's ``words.translations``; a word a pack does not translate is looked up in Qt's
translation (context "Verdicts", for older packs) and otherwise shown as the pack wrote it.
"""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import QCoreApplication

from inference import wording
from inference.results import Verdict

# Bahasa Indonesia, by the core's codes (every key of inference.wording.TEMPLATES; a test checks).
TEMPLATES: dict[str, dict[str, str]] = {
    "id": {
        "review_band": "tidak pasti: probabilitas {what} {p} berada di rentang tinjauan {low}–{high}",
        "low_confidence": "keyakinan rendah: {p} di bawah {minimum}",
        "out_of_domain": "gambar ini tidak mirip dengan gambar yang dipakai untuk melatih paket ini",
        "blank_image": "gambar kosong (hampir satu warna rata): apakah lensa tertutup atau berkasnya kosong?",
        "noise_image": "gambar tampak seperti derau acak, bukan foto sebuah objek",
        "guard_flagged": "pemeriksa masukan menandai gambar ini ({detectors})",
        "signature_band": "tidak pasti: skor {score} berada di rentang tinjauan {low}–{high} untuk {refs}",
        "few_references": "hanya {refs}: gunakan sedikitnya {minimum}",
        "few_references_eer": "hanya {refs}: gunakan sedikitnya {minimum} (EER validasi {eer_n} dengan {n} "
                              "dibanding {eer_min} dengan {minimum})",
        "references_disagree": "referensi tidak sepakat: skor per referensi berkisar dari {low} sampai {high}",
        "reference_outlier": "referensi {source} tidak cocok dengan referensi lain (kesesuaian {agreement}): "
                             "pastikan itu contoh tanda tangan nasabah",
        "not_signature": "{role} tidak tampak seperti tanda tangan",
        "checklist_failed": "daftar periksa: {steps} gagal",
        "checklist_view": "Lihat",
        "checklist_verify": "Cocokkan",
        "checklist_tug": "Tarik",
        "checklist_twist": "Putar",
        "text": "{text}",
        "profile_disagrees": "pengklasifikasi paket tidak sepakat dengan profil segel '{name}': probabilitas {what} "
                             "{p} (alarm mulai {threshold})",
        "profile_judged": "dinilai oleh profil segel '{name}'",
        "synthetic_training": "paket ini dilatih hanya dengan foto buatan dan belum diperiksa pada foto nyata: "
                              "daftarkan profil segel dari segel di lokasi Anda, atau latih ulang paket dengan "
                              "foto Anda sendiri",
        "guard_reconstruction": "gambar membawa derau halus atau detail yang tidak dapat dibentuk ulang oleh "
                                "autoencoder paket",
        "guard_divergence": "hasil berubah ketika gambar dibersihkan oleh autoencoder",
        "guard_squeeze": "hasil berubah ketika gambar sedikit disederhanakan (feature squeezing)",
        "guard_noise": "gambar membawa derau warna halus yang tidak ada pada foto kamera, seperti gangguan adversarial",
        "guard_ood": "gambar ini tidak mirip dengan gambar yang dipakai untuk melatih paket ini",
        "refused": "Ditolak: bukan {subject}",
        "refused_blank_image": "Ditolak: gambar kosong",
        "refused_noise_image": "Ditolak: gambar berupa derau, bukan foto",
        "review_suffix": "{verdict} — tinjau",
        "confidence": "Keyakinan {p}",
        "alarm": "{risk} {score} — alarm mulai {threshold}",
        "match": "Skor kecocokan {score} — asli mulai {threshold}",
        "profile": "Penyimpangan dari profil '{name}' {score} — alarm di atas {threshold}",
        "heatmap_of": "Peta panas {label}",
        "heatmap_of_top": "Peta panas {label}, kelas yang paling mungkin",
        "heatmap_signature": "Peta panas {label} dari tanda tangan ini saja",
        "heatmap_plain": "Peta panas",
        "heatmap_empty": "{caption}: tidak ada bukti",
        "heatmap_profile": "Tempat foto menyimpang dari profil '{name}'",
        "no_verdict": "Tidak ada hasil untuk gambar ini.",
        "refused_not_reassurance": "Tidak dinilai — ini bukan hasil {calm} dan tidak menyingkirkan {alarm}: ambil "
                                   "ulang fotonya; jika ditolak lagi, mintalah seseorang memeriksanya langsung.",
        "quoted": "‘{text}’",
        "list_last": "{head} atau {last}",
        "references_one": "1 referensi",
        "references_many": "{n} referensi",
        "risk_default": "Risiko ({labels})",
        # errors, by inference.errors.TilikError.code (English: inference.wording.ERRORS)
        "error_image_empty": "{source}: berkas kosong.",
        "error_image_truncated": "{source}: berkas terpotong atau rusak; simpan ulang atau ekspor ulang.",
        "error_image_unknown_format": "{source}: bukan gambar, atau format gambar yang tidak dapat dibaca Tilik "
                                      "(gunakan JPEG, PNG, BMP, TIFF, WebP atau GIF).",
        "error_image_too_large": "{source}: gambar terlalu besar untuk dibuka dengan aman.",
        "error_image_too_many_pixels": "{source}: gambar berukuran {width}×{height} piksel ({mp} MP), lebih dari "
                                       "{limit} MP yang aman dibuka Tilik. Perkecil dulu.",
        "error_not_signature": "{source}: {role} tidak tampak seperti pindaian tanda tangan. Gunakan pindaian atau "
                               "foto tanda tangan itu saja, tinta gelap di atas kertas terang; tidak ada hasil.",
        "role_query": "tanda tangan yang diperiksa",
        "role_reference": "tanda tangan referensi",
        "role_image": "gambar",
    },
}

_KINDS = {"class": "classes", "verdict": "verdict_words", "subject": "subject", "risk": "risk", "name": "name"}


def current_language() -> str:
    from gui import i18n

    return i18n.manager().language


def _manifest(pack_id: str) -> Any:
    """The pack's manifest (for its translated words), or None when it is not installed here.
    Only the manifest is read (words need no SHA-256 check of the model files); the newest
    version among the pack folders wins, as in the registry. Cached by path and modification time,
    so a pack installed or updated while the app runs is seen."""
    from inference.registry import PackRegistry

    stamps = []
    for folder, _origin in PackRegistry().folders:
        path = folder / pack_id / "manifest.json"
        try:
            stamps.append((str(path), path.stat().st_mtime_ns))
        except OSError:
            continue
    return _load_newest(tuple(stamps))


@functools.lru_cache(maxsize=64)
def _load_newest(stamps: tuple[tuple[str, int], ...]) -> Any:
    from pathlib import Path

    from inference.errors import TilikError
    from inference.manifest import load_manifest
    from inference.registry import version_key

    best = None
    for path, _mtime in stamps:
        try:
            m = load_manifest(Path(path))
        except TilikError:
            continue
        if best is None or version_key(m.version) >= version_key(best.version):
            best = m
    return best


def pack_word(pack_id: str | None, kind: str, key: str, english: str, language: str | None = None) -> str:
    """A pack's word (kind: class, verdict, subject, risk, name) in the app's language."""
    language = language or current_language()
    if language == "en" or not english:
        return english
    manifest = _manifest(pack_id) if pack_id else None
    if manifest is not None and hasattr(manifest, "translated"):
        found = manifest.translated(language, _KINDS[kind], key or None)
        if found:
            return found
    return QCoreApplication.translate("Verdicts", english)


def language_for(pack_id: str | None, language: str | None = None) -> wording.Language:
    """The core's :class:`~inference.wording.Language` for ``pack_id``'s words in the app's language."""
    language = language or current_language()
    table = TEMPLATES.get(language)
    template = (lambda code: table.get(code) or wording.TEMPLATES[code]) if table else wording.TEMPLATES.__getitem__
    return wording.Language(template=template, pct=pct,
                            pack_word=lambda kind, key, english: pack_word(pack_id, kind, key, english, language))


def verdict_of(item: Any) -> Verdict:
    """The verdict model of a result or a log record (built from its fields for an old object)."""
    v = getattr(item, "decision", None)
    if isinstance(v, Verdict):
        return v
    from inference.log.verdict_rows import result_verdict

    return result_verdict(item)


def headline(item: Any) -> str:
    return wording.headline(verdict_of(item), language_for(getattr(item, "pack_id", None)))


def number_line(item: Any) -> str:
    return wording.number_line(verdict_of(item), language_for(getattr(item, "pack_id", None)))


def reasons(item: Any) -> list[str]:
    return wording.reasons_text(verdict_of(item), language_for(getattr(item, "pack_id", None)))


def notes(item: Any) -> list[str]:
    """The verdict's notes (which seal profile judged it; a pack trained on generated photos only)."""
    return wording.notes_text(verdict_of(item), language_for(getattr(item, "pack_id", None)))


def guard_detector(item: Any, detail: str) -> str:
    return wording.guard_detector_text(detail, language_for(getattr(item, "pack_id", None)))


def error_message(error: BaseException) -> str:
    """A known error in the app's language: by its code when it has one, else its English words."""
    code = getattr(error, "code", None)
    table = TEMPLATES.get(current_language())
    if not code or not table or ("error_" + code) not in table:
        return str(error) or type(error).__name__
    params = dict(getattr(error, "params", {}) or {})
    if "role" in params:
        params["role"] = table.get("role_" + str(params["role"]), params["role"])
    try:
        return table["error_" + code].format(**params)
    except (KeyError, IndexError, ValueError):
        return str(error)


def class_word(pack_id: str | None, name: str, english_label: str) -> str:
    return pack_word(pack_id, "class", name, english_label or name)


def heatmap_caption(pack_id: str | None, name: str, english_label: str, verdict: Any = None,
                    basis: str = "fixed", empty: bool = False) -> str:
    """inference.wording.heatmap_caption in the app's language (``basis``: what class the map is of;
    ``empty``: the map is zero everywhere)."""
    return wording.heatmap_caption(english_label or name, language_for(pack_id), class_name=name, verdict=verdict,
                                   basis=basis, empty=empty)


def pct(value: float) -> str:
    """A share as a percentage with one decimal, in the user's locale (what the result views show)."""
    from PySide6.QtCore import QLocale

    return QLocale().toString(100.0 * float(value), "f", 1) + "%"
