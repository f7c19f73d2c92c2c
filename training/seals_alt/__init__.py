"""A second, deliberately different seal-photo renderer, used ONLY to test the seal classifier.

The seal pack is trained on ``training.seals``. A model can learn that renderer's habits (its
strap shading, its crack drawing, its JPEG pipeline) instead of seals, and a test set from the same
renderer cannot tell. This package draws seal photos another way, written from scratch with Pillow
(``ImageDraw`` shapes on a supersampled canvas, numpy value-noise textures) and without importing
``training.seals`` (a test checks that): other seal models, other surfaces, other defect models:

* ``strip``: a plastic strip seal through the staple of a door hasp; defects ``cut_strip`` (the strip
  severed, ends sprung apart) and ``missing`` (the hasp without a seal, a stub of strip left).
* ``bolt``: a bolt seal (steel shank, coloured barrel) through two lugs; defects ``cut_shank`` (a gap
  with bright saw faces), ``cracked_barrel`` (a jagged crack and a chipped piece) and ``missing``.
* ``label``: an adhesive tamper label across a seam on steel, rust or cardboard; defects ``torn``
  (a tear across it, a piece gone), ``lifted_void`` (a corner peeled back, VOID showing) and
  ``missing`` (only adhesive residue and VOID remnants).

Nothing here is used for training: ``python -m training.seals_alt --out DIR --count N --seed S``
writes a test set (``labels.csv`` with ``file,label,kind,defect,surface,lighting,seed,mask``), and
``--profiles`` writes per-type sets with one seal model per type (for enrolled seal profiles).
"""

from training.seals_alt.dataset import CSV_COLUMNS, export_profile_photos, write_dataset
from training.seals_alt.render import DEFECTS_BY_KIND, KINDS, LIGHTS, SURFACES, RENDERER_VERSION, render

__all__ = ["CSV_COLUMNS", "DEFECTS_BY_KIND", "KINDS", "LIGHTS", "RENDERER_VERSION", "SURFACES", "export_profile_photos",
           "render", "write_dataset"]
