"""What the review page shows, computed as plain data: no HTTP, no templates.

- `field_rows`: two records field by field, each value cut into segments that say which
  characters differ (case and accents are compared folded, as the matcher does).
- `waterfall`: each comparison's contribution to the match weight, from the prior to the final
  weight, laid out for an inline SVG chart.
- `queue_reasons`: why a pair is in the review queue (score band, twin guard, coherence).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from api.schemas.common import GUARD_FLAG_DESCRIPTION

FIELD_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Record", (
        ("source_system", "Source system"),
        ("local_student_id", "State student ID"),
    )),
    ("Name", (
        ("first_name", "First name"),
        ("middle_name", "Middle name"),
        ("last_name_1", "Last name 1 (paternal)"),
        ("last_name_2", "Last name 2 (maternal)"),
        ("suffix", "Suffix"),
    )),
    ("Birth", (
        ("sex", "Sex"),
        ("birth_date", "Birth date"),
        ("multiple_birth_flag", "Multiple birth"),
        ("birth_city", "Birth city"),
        ("birth_state", "Birth state"),
        ("birth_country", "Birth country"),
    )),
    ("Parents", (
        ("parent1_first_name", "Parent 1 first name"),
        ("parent1_last_name", "Parent 1 last name"),
        ("parent2_first_name", "Parent 2 first name"),
        ("parent2_last_name", "Parent 2 last name"),
    )),
    ("Enrollment", (
        ("enrollment_date", "Enrollment date"),
        ("qualifying_arrival_date", "Qualifying arrival date"),
        ("grade", "Grade"),
    )),
)
FIELD_LABELS: dict[str, str] = {
    "record_id": "Record ID", "state": "State",
    **{name: label for _, fields in FIELD_GROUPS for name, label in fields}}
"""Display names of the canonical columns (record_id and state head the pair view's columns)."""

COMPARISON_LABELS: dict[str, str] = {
    "first_name": "First name",
    "middle_name": "Middle name",
    "surname": "Surnames",
    "birth_date": "Birth date",
    "sex": "Sex",
    "birth_place": "Birth place",
    "parents": "Parents",
    "multiple_birth": "Multiple-birth flag",
    "local_id": "State student ID",
}


COMPARISON_FIELDS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "middle_name": ("middle_name",),
    "surname": ("last_name_1", "last_name_2"),
    "birth_date": ("birth_date",),
    "sex": ("sex",),
    "birth_place": ("birth_city", "birth_state", "birth_country"),
    "parents": ("parent1_first_name", "parent1_last_name", "parent2_first_name",
                "parent2_last_name"),
    "multiple_birth": ("multiple_birth_flag",),
    "local_id": ("local_student_id",),
}
"""The record fields each comparison of the `msix` preset reads (for the evidence column)."""


# -- differences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A run of characters; `changed` when they differ from the other side."""

    text: str
    changed: bool = False


@dataclass(frozen=True)
class FieldRow:
    """One field of the two records.

    status: "same", "folded" (equal once case and accents are ignored), "differs",
    "missing_left" / "missing_right" (one side has no value: no evidence, not a difference),
    "missing" (neither has one).
    """

    name: str
    label: str
    left: str | None
    right: str | None
    status: str
    left_segments: tuple[Segment, ...] = ()
    right_segments: tuple[Segment, ...] = ()

    @property
    def differs(self) -> bool:
        return self.status == "differs"


@dataclass(frozen=True)
class FieldGroup:
    title: str
    rows: tuple[FieldRow, ...]


def _fold_char(ch: str) -> str:
    """One character, lower case and without accents (always one character back)."""
    base = unicodedata.normalize("NFD", ch)[:1] or ch
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base


def fold(text: str) -> str:
    """Case- and accent-folded text of the same length, so positions map back 1:1."""
    return "".join(_fold_char(c) for c in text)


def _merge(segments: list[Segment]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for seg in segments:
        if not seg.text:
            continue
        if out and out[-1].changed == seg.changed:
            out[-1] = Segment(out[-1].text + seg.text, seg.changed)
        else:
            out.append(seg)
    return tuple(out)


def char_diff(left: str, right: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Split both strings into runs of equal and differing characters (folded comparison)."""
    matcher = SequenceMatcher(None, fold(left), fold(right), autojunk=False)
    lsegs: list[Segment] = []
    rsegs: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        same = tag == "equal"
        lsegs.append(Segment(left[i1:i2], not same))
        rsegs.append(Segment(right[j1:j2], not same))
    return _merge(lsegs), _merge(rsegs)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def compare_field(name: str, left: Any, right: Any) -> FieldRow:
    """One field of two records, classified and (when it differs) cut into segments."""
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    a, b = _clean(left), _clean(right)
    if a is None and b is None:
        return FieldRow(name, label, None, None, "missing")
    if a is None:
        return FieldRow(name, label, None, b, "missing_left", (), (Segment(b or ""),))
    if b is None:
        return FieldRow(name, label, a, None, "missing_right", (Segment(a),), ())
    if a == b:
        return FieldRow(name, label, a, b, "same", (Segment(a),), (Segment(b),))
    if " ".join(fold(a).split()) == " ".join(fold(b).split()):
        return FieldRow(name, label, a, b, "folded", (Segment(a),), (Segment(b),))
    lsegs, rsegs = char_diff(a, b)
    return FieldRow(name, label, a, b, "differs", lsegs, rsegs)


OTHER_EVIDENCE = "Other evidence"
"""The group of the store's preset's extra fields (an SSN, an address), shown by name."""


def field_rows(left: Mapping[str, Any], right: Mapping[str, Any],
               extra_fields: Sequence[str] = ()) -> list[FieldGroup]:
    """Both records field by field, grouped as the form a reviewer knows; the preset's extra
    fields (`Settings.extra_fields`) last."""
    groups = [*FIELD_GROUPS, *([(OTHER_EVIDENCE, tuple((f, f) for f in extra_fields))]
                               if extra_fields else [])]
    return [FieldGroup(title, tuple(compare_field(name, left.get(name), right.get(name))
                                    for name, _ in fields))
            for title, fields in groups]


# -- the contribution chart ----------------------------------------------------------------


def probability(weight: float) -> float:
    """Match weight in bits (log2 odds) to a probability."""
    return 1.0 / (1.0 + math.pow(2.0, -max(-1000.0, min(1000.0, weight))))


def weight_of(probability_: float) -> float:
    """A probability as a match weight in bits."""
    p = min(max(probability_, 1e-15), 1 - 1e-15)
    return math.log2(p / (1 - p))


@dataclass(frozen=True)
class Bar:
    """One row of the waterfall: a step from `start` to `end` (bits)."""

    key: str
    label: str
    value: float
    start: float
    end: float
    kind: str
    """"prior", "for", "against", "none" (no evidence: missing) or "total"."""
    level: str | None = None
    x: float = 0.0
    width: float = 0.0
    y: float = 0.0
    end_x: float = 0.0
    """Where the running total stands after this step (the connector to the next row)."""

    @property
    def signed(self) -> str:
        if self.kind == "none":
            return "0.0"
        return f"{self.value:+.1f}".replace("-", "−")


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    anchor: str = "middle"
    """SVG text-anchor for the label (two close markers push their labels apart)."""


@dataclass
class Waterfall:
    """Geometry for the SVG chart; `bars` in drawing order (prior first, total last)."""

    bars: list[Bar]
    ticks: list[Tick]
    markers: list[Marker]
    zero_x: float
    width: int
    height: int
    plot_left: int
    plot_width: int
    row_height: int
    top: int
    prior_weight: float
    final_weight: float
    summary: str = ""
    for_: list[Bar] = field(default_factory=list)
    against: list[Bar] = field(default_factory=list)


def _nice_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= raw:
            return step * magnitude
    return 10 * magnitude


def waterfall(
    contributions: Mapping[str, Any],
    match_weight: float,
    *,
    levels: Mapping[str, str] | None = None,
    thresholds: tuple[float, float] | None = None,
    width: int = 780,
    row_height: int = 34,
    label_width: int = 280,
    value_width: int = 64,
) -> Waterfall:
    """Lay out contributions (`mw_<name>` → bits) as a waterfall from the prior to the total.

    The prior is what is left of the match weight once the contributions are taken away
    (match_weight = prior + Σ contributions). `thresholds` (lower, upper) as probabilities are
    drawn as markers.
    """
    levels = levels or {}
    items: list[tuple[str, float]] = []
    for key, raw in contributions.items():
        name = key.removeprefix("mw_")
        value = float(raw) if isinstance(raw, int | float) and math.isfinite(raw) else 0.0
        items.append((name, value))
    total = float(match_weight)
    prior = total - sum(v for _, v in items)
    bars: list[Bar] = [Bar("prior", "Prior (before evidence)", prior, 0.0, prior, "prior")]
    running = prior
    for name, value in items:
        level = levels.get(name)
        kind = "for" if value > 1e-9 else "against" if value < -1e-9 else "none"
        if kind == "none" and level is None:
            level = "missing on one side: no evidence"
        bars.append(Bar(name, COMPARISON_LABELS.get(name, name.replace("_", " ").capitalize()),
                        value, running, running + value, kind, level))
        running += value
    bars.append(Bar("total", "Match weight", total, 0.0, total, "total"))

    marks = [weight_of(t) for t in thresholds] if thresholds else []
    points = [0.0, *marks, *(b.start for b in bars), *(b.end for b in bars)]
    lo, hi = min(points), max(points)
    step = _nice_step(hi - lo)
    lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if hi - lo < 1e-9:
        hi = lo + step
    plot_left = label_width
    plot_width = width - label_width - value_width
    top = 30

    def sx(value: float) -> float:
        return round(plot_left + (value - lo) / (hi - lo) * plot_width, 2)

    placed = []
    for i, bar in enumerate(bars):
        a, b = sorted((sx(bar.start), sx(bar.end)))
        placed.append(Bar(bar.key, bar.label, bar.value, bar.start, bar.end, bar.kind, bar.level,
                          x=a, width=max(b - a, 1.5), y=top + i * row_height,
                          end_x=sx(bar.end)))
    ticks = []
    value = lo
    while value <= hi + 1e-9:
        ticks.append(Tick(sx(value), f"{value:+g}".replace("-", "−") if value else "0"))
        value += step
    names = ("lower threshold", "upper threshold")
    markers = [Marker(sx(w), f"{names[i].split()[0]} {p:.0%}" if len(marks) == 2 else f"{p:.0%}")
               for i, (w, p) in enumerate(zip(marks, thresholds or (), strict=False))]
    if len(markers) == 2 and markers[1].x - markers[0].x < 90:
        markers = [Marker(markers[0].x, markers[0].label, "end"),
                   Marker(markers[1].x, markers[1].label, "start")]
    height = top + len(placed) * row_height + (22 if markers else 8)
    evidence = [b for b in placed if b.kind in ("for", "against")]
    for_ = sorted((b for b in evidence if b.kind == "for"), key=lambda b: -b.value)
    against = sorted((b for b in evidence if b.kind == "against"), key=lambda b: b.value)
    summary = (f"Prior {prior:+.1f} bits ({probability(prior):.2%}); evidence for: "
               + (", ".join(f"{b.label} {b.value:+.1f}" for b in for_) or "none")
               + "; evidence against: "
               + (", ".join(f"{b.label} {b.value:+.1f}" for b in against) or "none")
               + f"; match weight {total:+.1f} bits ({probability(total):.2%}).")
    return Waterfall(placed, ticks, markers, sx(0.0), width, height, plot_left, plot_width,
                     row_height, top, prior, total, summary, for_, against)


@dataclass(frozen=True)
class EvidenceCell:
    """A comparison's contribution, shown beside the fields it compared."""

    bar: Bar
    rowspan: int


def evidence_cells(groups: Sequence[FieldGroup], bars: Sequence[Bar]
                   ) -> tuple[dict[str, EvidenceCell], set[str]]:
    """Where each comparison's contribution goes in the records table.

    Returns the cells keyed by the first shown field of each comparison (spanning its shown
    fields) and the fields a span covers (they get no cell of their own). Fields missing on
    both records are not shown, so they are left out of the spans.
    """
    by_key = {b.key: b for b in bars}
    cells: dict[str, EvidenceCell] = {}
    covered: set[str] = set()
    extra = {r.name: (r.name,) for g in groups if g.title == OTHER_EVIDENCE for r in g.rows}
    for group in groups:
        shown = [r.name for r in group.rows if r.status != "missing"]
        # an extra field's comparison is shown beside it when it carries the field's name
        for name, fields in (COMPARISON_FIELDS | extra).items():
            bar = by_key.get(name)
            rows = [f for f in shown if f in fields]
            if bar is None or not rows:
                continue
            cells[rows[0]] = EvidenceCell(bar, len(rows))
            covered.update(rows[1:])
    return cells, covered


# -- why a pair is in the queue --------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    key: str
    title: str
    detail: str


def queue_reasons(match_probability: float, possible_multiple_birth: bool,
                  thresholds: tuple[float, float] | None) -> list[Reason]:
    """Why the engine did not decide this pair on its own."""
    out: list[Reason] = []
    if possible_multiple_birth:
        out.append(Reason(
            "twin", "Twin and sibling guard", GUARD_FLAG_DESCRIPTION))
    if thresholds is not None:
        lower, upper = thresholds
        if match_probability >= upper and not possible_multiple_birth:
            out.append(Reason(
                "coherence", "Held back by a coherence check",
                f"The score is above the link threshold ({upper:.0%}), but linking would join "
                "identities whose other records disagree."))
        elif lower <= match_probability < upper:
            out.append(Reason(
                "band", "Score in the review band",
                f"{match_probability:.1%} is between the lower threshold ({lower:.0%}) and the "
                f"upper threshold ({upper:.0%}): not safe to link, not safe to ignore."))
    elif not possible_multiple_birth:
        out.append(Reason("band", "Score in the review band",
                          f"{match_probability:.1%}: not safe to link, not safe to ignore."))
    return out


def format_probability(p: float) -> str:
    """97.3% (more digits near certainty, so 99.99% and 100% are not confused)."""
    if p >= 0.999 and p < 1:
        gap = (1 - p) * 100
        digits = min(4, max(1, math.ceil(-math.log10(gap) - 1e-6)))
        text = f"{p * 100:.{digits}f}"
        return f"{text}%"
    return f"{p:.1%}"


def age_text(seconds: float) -> str:
    """'just now', '5 min', '3 h', '4 d'."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def display_name(record: Mapping[str, Any] | None) -> str:
    """'Maria Guadalupe Garcia Lopez' from a record's name parts."""
    if not record:
        return "(unknown record)"
    parts: Sequence[Any] = (record.get("first_name"), record.get("middle_name"),
                            record.get("last_name_1"), record.get("last_name_2"),
                            record.get("suffix"))
    return " ".join(str(p).strip() for p in parts if p and str(p).strip()) or "(no name)"
