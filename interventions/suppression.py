"""Small-cell suppression of published counts (pure; no database).

A count of households below ``THRESHOLD`` (3) is not shown ("primary" suppression). So that a
hidden count cannot be worked out by subtracting the shown ones from a shown total, every group
of cells that adds up to a shown total hides either nothing, or at least two non-zero cells
whose sum is at least the threshold and larger than their number ("complementary" suppression:
the smallest shown cells are hidden too). Each hidden cell is at least 1 (zeros are shown: a
zero hides nobody), so any hidden cell could then be 1 or more than 1, whatever a reader knows.
When no choice of cells protects a group (every cell is 1), its total is hidden too. A total
below the threshold hides its whole group; in a two-level table (kabupaten/kota and their
kecamatan) the children of a hidden parent are all hidden, since they would add up to it, and a
parent whose children cannot be protected is hidden. Every hidden count reads the same
(``HIDDEN``), so a reader cannot tell a small count from a complementary one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

THRESHOLD = 3
HIDDEN = "*"


@dataclass(frozen=True)
class Suppressed:
    """A published count: ``value`` is None when it is hidden."""

    value: int | None

    @property
    def hidden(self) -> bool:
        return self.value is None

    def __str__(self) -> str:
        if self.value is None:
            return HIDDEN
        return f"{self.value:,}".replace(",", ".")


@dataclass
class Table:
    total: Suppressed
    cells: dict[Hashable, Suppressed] = field(default_factory=dict)


def protected(hidden: set, counts: Mapping[Hashable, int], threshold: int = THRESHOLD) -> bool:
    """Can no hidden cell be worked out from the group's total? Each hidden cell is between 1
    and (their sum - the others' minimum of 1 each): at least two values when this holds."""
    if not hidden:
        return True
    total = sum(counts[key] for key in hidden)
    return len(hidden) >= 2 and total >= threshold and total >= len(hidden) + 1


def _complete(hidden: set, counts: Mapping[Hashable, int], threshold: int) -> set | None:
    """Add the smallest shown non-zero cells until no hidden cell can be worked out; None when
    even hiding every cell does not protect them."""
    hidden = set(hidden)
    while not protected(hidden, counts, threshold):
        shown = sorted(
            (value, str(key), key)
            for key, value in counts.items()
            if value > 0 and key not in hidden
        )
        if not shown:
            return None
        hidden.add(shown[0][2])
    return hidden


def suppress_table(
    total: int,
    counts: Mapping[Hashable, int],
    *,
    threshold: int = THRESHOLD,
    hide_all: bool = False,
    forced: frozenset = frozenset(),
) -> Table:
    """One group of cells adding up to ``total`` (the sum of ``counts``). ``forced``: cells to
    hide whatever their count (complements are added for them as for small ones)."""
    hidden = None
    if not hide_all and total >= threshold:
        small = {key for key, value in counts.items() if 0 < value < threshold}
        hidden = _complete(small | set(forced), counts, threshold)
    if hidden is None:
        return Table(Suppressed(None), {key: Suppressed(None) for key in counts})
    return Table(
        Suppressed(total),
        {key: Suppressed(None if key in hidden else value) for key, value in counts.items()},
    )


@dataclass
class Hierarchy:
    parents: Table
    children: dict[Hashable, Table]


def suppress_hierarchy(
    total: int,
    tree: Mapping[Hashable, Mapping[Hashable, int]],
    *,
    threshold: int = THRESHOLD,
    hide_all: bool = False,
) -> Hierarchy:
    """Parents (e.g. kabupaten/kota) adding up to ``total``, each with children (kecamatan)
    adding up to the parent."""
    parent_counts = {parent: sum(children.values()) for parent, children in tree.items()}
    forced: set = set()
    while True:
        parents = suppress_table(
            total, parent_counts, threshold=threshold, hide_all=hide_all, forced=frozenset(forced)
        )
        children = {}
        unprotected = set()
        for parent in tree:
            parent_hidden = parents.cells[parent].hidden
            group = suppress_table(
                parent_counts[parent], tree[parent], threshold=threshold, hide_all=parent_hidden
            )
            if group.total.hidden and not parent_hidden:
                unprotected.add(parent)
            children[parent] = group
        if not unprotected:
            return Hierarchy(parents, children)
        forced |= unprotected
