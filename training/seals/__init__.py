"""Synthetic security-seal dataset generator.

There are no public photo sets of (damaged) ISO 17712 security seals, so the seal classifier is
trained on procedurally rendered photos: plastic pull-tight strap seals, bolt seals, cable seals and
adhesive tamper-evident labels/tape on container doors, hasps, cardboard, crates and totes, under
named lighting set-ups (and, in wide mode, on real-photo textures with hands in the frame and harsher
camera effects; see :mod:`training.seals.wide`), with physical defects (cut, crack, lifted VOID label, missing, frayed,
prised) whose region is written out as a mask.

Run ``python -m training seals generate --out DIR --count N --seed S``; from Python use
:func:`generate_dataset` or :func:`render_sample`; :func:`contact_sheet` draws a captioned grid of a
generated set (the seal pack's card shows one of its test render). Only numpy, OpenCV and Pillow are
needed.
"""

from training.seals.generator import (ALL_BACKGROUND_NAMES, BACKGROUND_NAMES, CSV_COLUMNS, DEFECTS, DEFECTS_BY_FAMILY, FAMILY_NAMES,
                                      GENERATOR_VERSION, LABELS, LIGHTING_NAMES, generate_dataset, render_sample,
                                      resolve_names, sample_spec)
from training.seals.sheet import contact_sheet

__all__ = ["ALL_BACKGROUND_NAMES", "BACKGROUND_NAMES", "CSV_COLUMNS", "DEFECTS", "DEFECTS_BY_FAMILY", "FAMILY_NAMES", "GENERATOR_VERSION",
           "LABELS", "LIGHTING_NAMES", "contact_sheet", "generate_dataset", "render_sample", "resolve_names", "sample_spec"]
