"""The dimensions evaluations are counted by, and the facets that explain a surge: declared once.

Everything that counts, judges or explains by dimension derives from this table: the worker's
window counts (streams/ingest/counts.py), which minute windows feed surge detection
(streams/surges/step.py), the labels of an alert (schemas/alerts.py). Adding a dimension is
one entry here plus, for analysts, one migration with its views (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class DimensionSpec:
    name: str  # the `dimension` column and the first part of a window's key
    field: str  # the Evaluation attribute holding the key; None there means "not counted"
    label_zh: str
    label_en: str
    windowed: bool = True  # counted in minute and day windows
    judged: bool = False  # its minute windows are judged for bad-review surges
    explained: bool = False  # its minute windows keep what their bad reviews were about

    def __post_init__(self) -> None:
        # an alert must say what drives it, so whatever is judged is explained too
        if self.judged and not (self.explained and self.windowed):
            raise ValueError(f"dimension {self.name}: judged needs windowed and explained")


DIMENSION_SPECS: Final[tuple[DimensionSpec, ...]] = (
    DimensionSpec("service", "service_code", "事项", "service item", judged=True, explained=True),
    DimensionSpec(
        "department", "department_code", "部门", "department", judged=True, explained=True
    ),
    DimensionSpec("channel", "channel", "渠道", "channel"),
    DimensionSpec("region", "region_code", "区划", "region"),
    # 服务大厅: rates the service provider, not only the department; online channels have none
    DimensionSpec("hall", "hall_code", "大厅", "service hall"),
)
SPEC_BY_NAME: Final = {spec.name: spec for spec in DIMENSION_SPECS}
DIMENSIONS: Final = tuple(spec.name for spec in DIMENSION_SPECS if spec.windowed)
SURGE_DIMENSIONS: Final = tuple(spec.name for spec in DIMENSION_SPECS if spec.judged)
EXPLAINED_DIMENSIONS: Final = frozenset(spec.name for spec in DIMENSION_SPECS if spec.explained)


@dataclass(frozen=True, slots=True)
class FacetSpec:
    name: str  # plural, as in an explanation's `top_<name>`
    field: str  # the attribute of a bad review that holds the code(s)
    many: bool = False  # the attribute is a sequence of codes


# What a surge's bad reviews have in common; comments are sampled apart from these counts.
FACETS: Final[tuple[FacetSpec, ...]] = (
    FacetSpec("services", "service_code"),
    FacetSpec("channels", "channel"),
    FacetSpec("halls", "hall_code"),
    FacetSpec("windows", "window_code"),
    FacetSpec("tags", "tags", many=True),
)
FACET_NAMES: Final = tuple(facet.name for facet in FACETS)


def dimension_label(name: str) -> tuple[str, str]:
    spec = SPEC_BY_NAME.get(name)
    return (spec.label_zh, spec.label_en) if spec else (name, name)
