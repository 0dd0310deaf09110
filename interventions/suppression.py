"""Small-cell suppression of published counts (pure; no database).

A count of households below ``THRESHOLD`` (3) is not shown ("primary" suppression). So that a
hidden count cannot be worked out by subtracting the shown ones from a shown total, every group
of cells that adds up to a shown total hides either nothing, or at least two non-zero cells
whose sum is at least the threshold ("complementary" suppression: the smallest shown cells are
hidden too). Then any hidden cell could be anything from 1 to at least 2, whatever a reader
knows. A total below the threshold hides its whole group; in a two-level table (kabupaten/kota
and their kecamatan) the children of a hidden parent are all hidden, since they would add up to
it. Zero counts are shown as they are (a zero hides nobody).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

THRESHOLD = 3


@dataclass(frozen=True)
class Suppressed:
    """A published count: ``value`` is None when it is hidden."""

    value: int | None

    @property
    def hidden(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is None:
            return f"< {THRESHOLD}"
        return f"{self.value:,}".replace(",", ".")


@dataclass
class Table:
    total: Suppressed
    cells: dict[Hashable, Suppressed] = field(default_factory=dict)


def _hidden_set(counts: Mapping[Hashable, int], threshold: int) -> set:
    hidden = {key for key, value in counts.items() if 0 < value < threshold}
    while hidden and (len(hidden) < 2 or sum(counts[k] for k in hidden) < threshold):
        shown = sorted(
            (value, str(key), key)
            for key, value in counts.items()
            if value > 0 and key not in hidden
        )
        if not shown:
            break
        hidden.add(shown[0][2])
    return hidden


def suppress_table(
    total: int, counts: Mapping[Hashable, int], *, threshold: int = THRESHOLD, hide_all=False
) -> Table:
    """One group of cells adding up to ``total`` (the sum of ``counts``)."""
    if hide_all or total < threshold:
        return Table(Suppressed(None), {key: Suppressed(None) for key in counts})
    hidden = _hidden_set(counts, threshold)
    return Table(
        Suppressed(total),
        {key: Suppressed(None if key in hidden else value) for key, value in counts.items()},
    )


@dataclass
class Hierarchy:
    parents: Table
    children: dict[Hashable, Table]


def suppress_hierarchy(
    total: int, tree: Mapping[Hashable, Mapping[Hashable, int]], *, threshold: int = THRESHOLD
) -> Hierarchy:
    """Parents (e.g. kabupaten/kota) adding up to ``total``, each with children (kecamatan)
    adding up to the parent."""
    parent_counts = {parent: sum(children.values()) for parent, children in tree.items()}
    parents = suppress_table(total, parent_counts, threshold=threshold)
    children = {
        parent: suppress_table(
            parent_counts[parent],
            tree[parent],
            threshold=threshold,
            hide_all=parents.cells[parent].hidden,
        )
        for parent in tree
    }
    return Hierarchy(parents, children)
