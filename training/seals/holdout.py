"""Leave-one-out splits for honest generalisation measures on generated seal data.

A random split of generated photos tests the generator's own habits: the same seal family, surface
and light sit on both sides. Leaving one value of a column out (a family, a background, a lighting
set-up) asks the question a new site asks: does it work on a kind of photo it never saw?
:func:`leave_one_out` makes those splits; a scene (an intact/damaged pair of one render) never
straddles them, and nothing is split on a value that has only one class.
"""

from __future__ import annotations

from typing import Iterable, Sequence


class HoldoutError(ValueError):
    """The rows cannot be split the way asked (a missing column, one value only, ...)."""


def leave_one_out(rows: Sequence[dict], column: str, *, group_column: str | None = "scene",
                  label_column: str = "label", values: Iterable[str] | None = None,
                  min_test: int = 10) -> list[tuple[str, list[int], list[int]]]:
    """``[(value, train_indices, test_indices), ...]``: for each value of ``column``, the rows with it
    are the test side and every other row the training side.

    ``group_column`` (default ``scene``; None for none) must not straddle a split: if one group holds
    two values of ``column`` the rows are refused rather than leaked. A value is skipped when its test
    side has fewer than ``min_test`` rows or only one class (no ROC-AUC), and so is a split whose
    training side lacks a class. ``values`` restricts (and orders) the values held out.
    """
    if not rows:
        raise HoldoutError("no rows to split")
    for key in (column, label_column) + ((group_column,) if group_column else ()):
        if key not in rows[0]:
            raise HoldoutError(f"the rows have no {key!r} column (columns: {', '.join(rows[0])})")
    if group_column:
        seen: dict[str, str] = {}
        for r in rows:
            g, v = str(r[group_column]), str(r[column])
            if seen.setdefault(g, v) != v:
                raise HoldoutError(f"{group_column} {g!r} has two {column} values ({seen[g]!r}, {v!r}): "
                                   f"a leave-one-{column}-out split would put one scene on both sides")
    all_values = sorted({str(r[column]) for r in rows})
    chosen = list(values) if values is not None else all_values
    unknown = [v for v in chosen if v not in all_values]
    if unknown:
        raise HoldoutError(f"no rows with {column} {', '.join(map(repr, unknown))}; present: {', '.join(all_values)}")
    if len(all_values) < 2:
        raise HoldoutError(f"only one {column} ({all_values[0]!r}) in the rows: nothing to hold out")
    out = []
    for v in chosen:
        test = [i for i, r in enumerate(rows) if str(r[column]) == v]
        train = [i for i, r in enumerate(rows) if str(r[column]) != v]
        if len(test) < min_test or len({rows[i][label_column] for i in test}) < 2:
            continue
        if len({rows[i][label_column] for i in train}) < 2:
            continue
        out.append((v, train, test))
    if not out:
        raise HoldoutError(f"no {column} value gives a usable split (each needs {min_test}+ test rows of both classes)")
    return out


__all__ = ["HoldoutError", "leave_one_out"]
