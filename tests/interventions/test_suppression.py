"""Small-cell suppression: no hidden count can be worked out from the published ones."""

from hypothesis import given, settings
from hypothesis import strategies as st

from interventions.suppression import THRESHOLD, Suppressed, suppress_hierarchy, suppress_table

counts = st.integers(min_value=0, max_value=12)
tables = st.dictionaries(st.sampled_from("abcdef"), counts, min_size=1, max_size=6)
trees = st.dictionaries(
    st.sampled_from(["36.01", "36.02", "36.03", "36.04"]),
    st.dictionaries(st.sampled_from(["01", "02", "03", "04"]), st.integers(1, 9), min_size=1),
    min_size=1,
    max_size=4,
)


def _check_group(table, counts_: dict) -> None:
    published = {key: cell.value for key, cell in table.cells.items()}
    # What is shown is true, and never a small count.
    for key, value in published.items():
        if value is not None:
            assert value == counts_[key]
            assert value == 0 or value >= THRESHOLD
    if table.total.hidden:
        assert all(value is None for value in published.values())
        return
    assert table.total.value == sum(counts_.values())
    hidden = [key for key, value in published.items() if value is None]
    if not hidden:
        return
    # Subtracting the shown cells from the total leaves the sum of the hidden ones; each hidden
    # cell is at least 1 (zeros are shown), so one of them lies between 1 and that sum minus
    # the others' 1 each. It must not be pinned down to a single value.
    rest = table.total.value - sum(v for v in published.values() if v is not None)
    assert rest == sum(counts_[key] for key in hidden)
    assert len(hidden) >= 2
    assert rest >= THRESHOLD
    assert rest - (len(hidden) - 1) >= 2, (published, counts_)


@settings(max_examples=300, deadline=None)
@given(tables)
def test_a_hidden_cell_cannot_be_derived_from_the_total(counts_):
    total = sum(counts_.values())
    table = suppress_table(total, counts_)
    _check_group(table, counts_)
    if total < THRESHOLD:
        assert table.total.hidden
        assert all(cell.hidden for cell in table.cells.values())


@settings(max_examples=300, deadline=None)
@given(trees)
def test_hierarchy_hides_the_children_of_a_hidden_parent(tree):
    total = sum(sum(children.values()) for children in tree.values())
    result = suppress_hierarchy(total, tree)
    parent_counts = {parent: sum(children.values()) for parent, children in tree.items()}
    _check_group(result.parents, parent_counts)
    for parent, children in tree.items():
        group = result.children[parent]
        if result.parents.cells[parent].hidden:
            # Otherwise the children would add up to the hidden parent.
            assert all(cell.hidden for cell in group.cells.values())
        else:
            _check_group(group, dict(children))


def test_examples():
    table = suppress_table(7, {"a": 5, "b": 2, "c": 0})
    assert {k: str(v) for k, v in table.cells.items()} == {"a": "*", "b": "*", "c": "0"}
    table = suppress_table(12, {"a": 5, "b": 1, "c": 1, "d": 5})
    assert [k for k, v in table.cells.items() if v.hidden] == ["a", "b", "c"]
    # Three cells of 1 under a total of 13: hiding only them would give away 1 each.
    table = suppress_table(13, {"a": 1, "b": 1, "c": 1, "d": 10})
    assert all(cell.hidden for cell in table.cells.values())
    # Every cell is 1: nothing protects them but hiding the total.
    assert suppress_table(3, {"a": 1, "b": 1, "c": 1}).total.hidden
    assert str(suppress_table(2, {"a": 2}).total) == "*"
    assert str(Suppressed(1234)) == "1.234"


def test_a_parent_whose_children_cannot_be_protected_is_hidden():
    result = suppress_hierarchy(13, {"36.01": {"01": 1, "02": 1, "03": 1}, "36.02": {"01": 10}})
    assert result.parents.cells["36.01"].hidden
    assert result.parents.cells["36.02"].hidden  # its complement
    assert all(cell.hidden for group in result.children.values() for cell in group.cells.values())
