"""Compact storage of an assessment's inputs and verdict (positional JSON arrays, not dicts).

An assessment stores its inputs snapshot and its verdict. As dicts (``HouseholdFacts.as_dict()``
and ``Verdict.as_dict()``) that is about 4.6 KB of JSON per household, most of it keys repeated
in every row; as arrays it is about a third of that, and much cheaper to encode, send and parse.
The model fields below store the compact form and read both forms back as the same dicts, so
everything that reads ``Assessment.inputs`` / ``Assessment.verdict`` (pages, API, words) sees
exactly what it saw before, and rows stored in the old form stay readable.

Inputs: ``[n, [household values], [[member values], ...], met_needs?]``, the values in the order
of ``INPUT_LAYOUTS[n]`` (keys ``as_dict()`` leaves out while unset, ``OMITTED[n]``, are stored
with their unset value and left out again when read). A layout is a fixed list of keys: when
the facts change (a fact added to ``HOUSEHOLD_FACTS`` or ``MEMBER_FACTS``), the current layout
is no longer registered and the inputs are stored as the plain dict again (correct, only
bigger) until the new key list is registered here as the next layout number; old rows keep
decoding with their own layout (layout 2 added the tier 3 facts).

Verdict, format 1 (self-contained): ``[1, extreme_poor, below_extreme_line, desil_within_cutoff,
spending_per_person, unmet_needs, unmet_critical_needs, eligible_tier2, eligible_tier3,
meets_graduation, recommended_tier, [[code, need, value, threshold, passed, detail], ...]]``.

Verdict, format 2 (what the batch writes): ``[2, layout key, extreme_poor, ..., recommended_tier,
[[value, passed] or [value, passed, detail], ...]]``. Most of a format 1 verdict is the same for
every household assessed under one rule set: each line's code, need, threshold and read-only
detail (a need's label and whether it is critical). Format 2 keeps those once, as a *layout*
(``VerdictLayout``: ``[[code, need, threshold, detail or None], ...]``, keyed by a hash of its
content, so it never changes and is written by whoever needs it first), and stores per
household only what varies: value, passed, and the details built for that household. A
verdict is about a third of the bytes, which is most of what the database spends writing an
assessment. ``expand_verdict`` reads both formats back as the same ``Verdict.as_dict()``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import orjson
from django.db import models

from .evaluation import HouseholdFacts, Verdict
from .rules import HOUSEHOLD_FACTS, MEMBER_FACTS

INPUTS_FORMAT = 1  # first element of a compact inputs array: its layout number
VERDICT_FORMAT = 1  # self-contained (``verdict_compact``); the batch writes format 2
VERDICT_LAYOUT_FORMAT = 2

#: Registered input layouts: (household keys, member keys). Never change a registered layout;
#: add the next number when the facts change (``test_compact`` fails until then).
INPUT_LAYOUTS: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {
    1: (
        (
            "member_count",
            "monthly_expenditure",
            "spending_per_person",
            "desil",
            "water_source",
            "toilet",
            "has_septic_tank",
            "floor_material",
            "wall_material",
            "roof_material",
            "floor_area_per_person",
            "lighting",
            "cooking_fuel",
            "ownership",
            "meals_per_day",
            "in_active_group",
            "floor_area_m2",
        ),
        (
            "age",
            "sex",
            "relationship",
            "school_enrolment",
            "education",
            "work_status",
            "disability",
            "chronic_illness",
            "health_insurance",
            "completed_training",
        ),
    ),
    2: (  # tier 3: the group's business and a KUR loan (household), a member in an active group
        (
            "member_count",
            "monthly_expenditure",
            "spending_per_person",
            "desil",
            "water_source",
            "toilet",
            "has_septic_tank",
            "floor_material",
            "wall_material",
            "roof_material",
            "floor_area_per_person",
            "lighting",
            "cooking_fuel",
            "ownership",
            "meals_per_day",
            "in_active_group",
            "business_months_ago",
            "loan_in_good_standing",
            "floor_area_m2",
        ),
        (
            "age",
            "sex",
            "relationship",
            "school_enrolment",
            "education",
            "work_status",
            "disability",
            "chronic_illness",
            "health_insurance",
            "completed_training",
            "in_active_group",
        ),
    ),
}
#: Keys of a layout that ``as_dict()`` leaves out while they hold this value (so snapshots of
#: households outside groups stay as they were): stored as that value, left out when read.
#: (household keys, member keys) -> value; the values are singletons (compared with ``is``).
OMITTED: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {
    2: (
        {"business_months_ago": None, "loan_in_good_standing": None},
        {"in_active_group": False},
    ),
}
_NOTHING_OMITTED: tuple[dict[str, Any], dict[str, Any]] = ({}, {})

_MEMBERS = "members"
_MET = "met_needs"
CURRENT_LAYOUT = ((*HOUSEHOLD_FACTS, "floor_area_m2"), tuple(MEMBER_FACTS))
#: The layout number the current facts are stored with; None: stored as plain dicts.
CURRENT_INPUTS_FORMAT: int | None = next(
    (n for n, layout in INPUT_LAYOUTS.items() if layout == CURRENT_LAYOUT), None
)
_household_values = attrgetter(*CURRENT_LAYOUT[0])
_member_values = attrgetter(*CURRENT_LAYOUT[1])


def _default(value):
    """orjson's fallback: a line's shared detail (a read-only mapping) and a CriterionLine."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode_json(value) -> str:
    """Compact JSON text (orjson: several times faster than the json module here)."""
    return orjson.dumps(value, default=_default).decode()


_encode = encode_json


def _encode_sorted(value) -> str:
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS).decode()


# --- inputs -------------------------------------------------------------------------------------


def member_inputs(member) -> tuple:
    """One member's compact values (a MemberFacts); cacheable: MemberFacts is frozen."""
    return _member_values(member)


def inputs_compact(facts: HouseholdFacts, members: list | None = None) -> list | dict:
    """The compact inputs of ``facts`` (= ``compact_inputs(facts.as_dict())``, built directly).

    ``members``: the members' ``member_inputs``, when the caller has them already.
    """
    if CURRENT_INPUTS_FORMAT is None:
        return facts.as_dict()
    if members is None:
        members = [_member_values(m) for m in facts.members]
    data = [CURRENT_INPUTS_FORMAT, _household_values(facts), members]
    if facts.met_needs:
        data.append(sorted(facts.met_needs))
    return data


def compact_inputs(inputs: Mapping[str, Any]) -> list | dict:
    """An ``as_dict()`` inputs dict in compact form (the dict itself if its keys don't fit)."""
    if isinstance(inputs, list) or CURRENT_INPUTS_FORMAT is None:
        return inputs
    household_keys, member_keys = CURRENT_LAYOUT
    household_omitted, member_omitted = OMITTED.get(CURRENT_INPUTS_FORMAT, _NOTHING_OMITTED)
    members = inputs.get(_MEMBERS, [])
    if not _fits(set(inputs) - {_MEMBERS, _MET}, inputs, household_keys, household_omitted) or any(
        not _fits(set(m), m, member_keys, member_omitted) for m in members
    ):
        return dict(inputs)
    data = [
        CURRENT_INPUTS_FORMAT,
        [inputs.get(k, household_omitted.get(k)) for k in household_keys],
        [[m.get(k, member_omitted.get(k)) for k in member_keys] for m in members],
    ]
    if inputs.get(_MET):
        data.append(list(inputs[_MET]))
    return data


def _fits(keys: set, data: Mapping, layout: tuple[str, ...], omitted: dict) -> bool:
    """Whether a dict is exactly what a layout reads back: its keys, less the left-out ones."""
    if not keys <= set(layout) or not set(layout) - set(omitted) <= keys:
        return False
    return all(data[k] is not value for k, value in omitted.items() if k in keys)


def _without(data: dict, omitted: dict) -> dict:
    for key, value in omitted.items():
        if data[key] is value:
            del data[key]
    return data


def expand_inputs(stored: Any) -> Any:
    """The ``as_dict()`` dict of stored inputs, compact or not."""
    if not isinstance(stored, list):
        return stored
    household_keys, member_keys = INPUT_LAYOUTS[stored[0]]
    household_omitted, member_omitted = OMITTED.get(stored[0], _NOTHING_OMITTED)
    data = _without(dict(zip(household_keys, stored[1], strict=True)), household_omitted)
    data[_MEMBERS] = [
        _without(dict(zip(member_keys, m, strict=True)), member_omitted) for m in stored[2]
    ]
    if len(stored) > 3:
        data[_MET] = stored[3]
    return data


def inputs_json(compact: list | dict) -> str:
    """The stored JSON text; a dict (no layout) is stored with sorted keys."""
    return _encode(compact) if isinstance(compact, list) else _encode_sorted(compact)


# --- verdict ------------------------------------------------------------------------------------


_PLAIN: dict[int, tuple[Mapping, dict]] = {}  # id of a shared read-only detail -> its dict


def _plain(detail: Mapping) -> dict:
    """A line's detail as a dict; the read-only details shared by a rule set converted once."""
    found = _PLAIN.get(id(detail))
    if found is None or found[0] is not detail:
        if len(_PLAIN) > 10_000:
            _PLAIN.clear()
        found = _PLAIN[id(detail)] = (detail, dict(detail))  # keeps `detail` (and its id) alive
    return found[1]


#: The verdict's own fields, in the order both formats store them before the lines.
VERDICT_HEAD = (
    "extreme_poor",
    "below_extreme_line",
    "desil_within_cutoff",
    "spending_per_person",
    "unmet_needs",
    "unmet_critical_needs",
    "eligible_tier2",
    "eligible_tier3",
    "meets_graduation",
    "recommended_tier",
)
_verdict_head = attrgetter(*VERDICT_HEAD)


def verdict_compact(verdict: Verdict) -> list:
    """The compact verdict as plain JSON values (lists, dicts; tuples where JSON has arrays)."""
    return [
        VERDICT_FORMAT,
        *_verdict_head(verdict),
        [
            (c, n, v, t, p, d if d.__class__ is dict else _plain(d))
            for c, n, v, t, p, d in verdict.lines
        ],
    ]


# --- verdict, format 2: a shared layout and what varies per household -------------------------

#: Encoder: the shape of a verdict's lines -> (layout key, layout). A shape holds the ids of the
#: read-only details, so the entry keeps those details alive (an id is never reused meanwhile).
_SHAPES: dict[tuple, tuple[str, list, tuple]] = {}
#: Decoder: layout key -> layout, for layouts written or read by this process.
_LAYOUTS: dict[str, list] = {}
LAYOUTS_KEPT = 1_000  # layouts remembered (a rule set has up to a few hundred), then forgotten


def layout_key(layout: list) -> str:
    """The key of a layout: a hash of its JSON (16 hex digits), so equal layouts share a row."""
    text = orjson.dumps(layout, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(text, usedforsecurity=False).hexdigest()[:16]


def verdict_layout_compact(verdict: Verdict) -> tuple[list, str, list] | None:
    """The format 2 verdict, its layout key and layout; None when a line cannot be laid out.

    A line's read-only detail (a MappingProxyType, shared by the rule set) goes to the layout;
    a detail built for this household (a dict) stays with the line.
    """
    shape = []
    entries = []
    for code, need, value, threshold, passed, detail in verdict.lines:
        if detail.__class__ is MappingProxyType:
            shape.append((code, need, threshold, id(detail)))
            entries.append((value, passed))
        else:
            shape.append((code, need, threshold, None))
            entries.append((value, passed, detail))
    try:
        found = _SHAPES.get(shape := tuple(shape))
    except TypeError:  # a threshold that is a list or a dict: store the verdict in full
        return None
    if found is None:
        found = _new_shape(shape, verdict.lines)
    key, layout, _ = found
    return [VERDICT_LAYOUT_FORMAT, key, *_verdict_head(verdict), entries], key, layout


def _new_shape(shape: tuple, lines) -> tuple[str, list, tuple]:
    layout = [
        [code, need, threshold, dict(detail) if detail_id is not None else None]
        for (code, need, threshold, detail_id), detail in zip(
            shape, (line[5] for line in lines), strict=True
        )
    ]
    if len(_SHAPES) >= LAYOUTS_KEPT:
        _SHAPES.clear()
    found = _SHAPES[shape] = (layout_key(layout), layout, tuple(line[5] for line in lines))
    remember_layout(found[0], layout)
    return found


def remember_layout(key: str, layout: list) -> None:
    if len(_LAYOUTS) >= LAYOUTS_KEPT:
        _LAYOUTS.clear()
    _LAYOUTS[key] = layout


def verdict_stored(verdict: Verdict) -> tuple[str, str | None, list | None]:
    """(the stored JSON text, layout key, layout): format 2, or format 1 (no layout)."""
    laid_out = verdict_layout_compact(verdict)
    if laid_out is None:
        return verdict_compact_json(verdict), None, None
    data, key, layout = laid_out
    return _encode(data), key, layout


def _layout(key: str) -> list:
    layout = _LAYOUTS.get(key)
    if layout is None:
        from .models import VerdictLayout  # models import this module

        layout = VerdictLayout.objects.filter(key=key).values_list("lines", flat=True).first()
        if layout is None:
            raise LookupError(f"verdict layout {key} is not stored")
        remember_layout(key, layout)
    return layout


def _line_dict(code, need, value, threshold, passed, detail) -> dict:
    return {
        "code": code,
        "need": need,
        "value": value,
        "threshold": threshold,
        "passed": passed,
        "detail": detail,
    }


def _expand_laid_out(stored: list) -> dict:
    key, head, entries = stored[1], stored[2:-1], stored[-1]
    lines = [
        _line_dict(
            code, need, entry[0], threshold, entry[1], dict(entry[2] if len(entry) > 2 else detail)
        )
        for (code, need, threshold, detail), entry in zip(_layout(key), entries, strict=True)
    ]
    return {**dict(zip(VERDICT_HEAD, head, strict=True)), "lines": lines}


def verdict_compact_json(verdict: Verdict) -> str:
    return _encode(verdict_compact(verdict))


def compact_verdict(data: Mapping[str, Any] | list) -> list:
    """A ``Verdict.as_dict()`` dict in compact form."""
    if isinstance(data, list):
        return data
    return json.loads(verdict_compact_json(Verdict.from_dict(data)))


def expand_verdict(stored: Any) -> Any:
    """The ``Verdict.as_dict()`` dict of a stored verdict, compact or not."""
    if not isinstance(stored, list):
        return stored
    if stored[0] == VERDICT_LAYOUT_FORMAT:
        return _expand_laid_out(stored)
    head, lines = stored[1:-1], stored[-1]
    return {
        **dict(zip(VERDICT_HEAD, head, strict=True)),
        "lines": [_line_dict(*line) for line in lines],
    }


# --- model fields -------------------------------------------------------------------------------


class _CompactJSONField(models.JSONField):
    """A JSONField that stores a compact form and reads back the full dict (either form).

    On PostgreSQL the column is ``text``: the JSON is written by this module, read whole and
    never queried inside, so the server need not parse it. As ``jsonb`` it converted every
    document to its binary form (as much as the rest of a chunk's writes), as ``json`` it still
    checked each one (about a tenth of writing an assessment).
    """

    compact = staticmethod(lambda value: value)
    expand = staticmethod(lambda value: value)

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "text"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, str):
            value = orjson.loads(value)
        return self.expand(value)

    def get_prep_value(self, value):
        if isinstance(value, Mapping):
            value = self.compact(value)
        return super().get_prep_value(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        if hasattr(value, "as_sql"):
            return value
        return json.dumps(value, cls=self.encoder, separators=(",", ":"))


class CompactInputsField(_CompactJSONField):
    """``Assessment.inputs``: ``HouseholdFacts.as_dict()`` in, the same dict out."""

    compact = staticmethod(compact_inputs)
    expand = staticmethod(expand_inputs)


class CompactVerdictField(_CompactJSONField):
    """``Assessment.verdict``: ``Verdict.as_dict()`` in, the same dict out."""

    compact = staticmethod(compact_verdict)
    expand = staticmethod(expand_verdict)


__all__ = [
    "CompactInputsField",
    "CompactVerdictField",
    "compact_inputs",
    "compact_verdict",
    "encode_json",
    "expand_inputs",
    "expand_verdict",
    "inputs_compact",
    "inputs_json",
    "layout_key",
    "member_inputs",
    "remember_layout",
    "verdict_compact",
    "verdict_compact_json",
    "verdict_layout_compact",
    "verdict_stored",
]
