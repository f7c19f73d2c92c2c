"""The model card dialog reads only regular files inside the pack (issue 22 item 3): a card or a
card image that names /dev/zero, a path outside the pack or a link out is not read (it used to hang
the app or show the file), and says why in words."""

from __future__ import annotations

import os
import time

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument

from inference.registry import check_pack
from tiny_models import build_colour_model, colour_manifest, write_pack

CARD = """# Colour card

Inside: ![ok](plots/ok.png)

Device: ![zero](/dev/zero) · Outside: ![out](../outside.png) · Link: ![link](plots/link.png)
"""


def _pack(tmp_path):
    from gui_packs import image, save

    model = build_colour_model()
    folder = write_pack(tmp_path / "colour", model, manifest=colour_manifest(model, card="CARD.md"))
    (folder / "CARD.md").write_text(CARD, encoding="utf-8")
    save(folder / "plots" / "ok.png", image("blue", size=(20, 20)))
    save(tmp_path / "outside.png", image("red", size=(20, 20)))
    os.symlink(tmp_path / "outside.png", folder / "plots" / "link.png")
    return folder


def test_card_images_come_only_from_inside_the_pack(qtbot, tmp_path):
    from gui.widgets.model_card import ModelCardDialog

    pack = check_pack(_pack(tmp_path))
    assert pack.usable
    start = time.perf_counter()
    dialog = ModelCardDialog(pack)
    qtbot.addWidget(dialog)
    dialog.show()
    doc = dialog.card.document()

    def resource(name: str):
        return doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(name))

    ok = resource("plots/ok.png")
    assert ok is not None and not ok.isNull()
    for refused in ("/dev/zero", "../outside.png", "plots/link.png", "file:///etc/hostname"):
        value = resource(refused)
        assert value is None or value.isNull(), refused
    assert time.perf_counter() - start < 10  # /dev/zero read would never end
    assert "Colour card" in dialog.card.toPlainText()


def test_a_card_swapped_for_a_link_out_is_not_shown_and_says_why(qtbot, tmp_path):
    from gui.widgets.model_card import ModelCardDialog

    folder = _pack(tmp_path)
    pack = check_pack(folder)
    (folder / "CARD.md").unlink()
    os.symlink("/etc/hostname", folder / "CARD.md")  # after the listing
    dialog = ModelCardDialog(pack)
    qtbot.addWidget(dialog)
    text = dialog.card.toPlainText()
    assert "Model card not shown" in text and "outside the pack" in text
    assert "Intended use" in dialog.facts.toPlainText()  # the manifest's facts are still shown
