"""The names people read beside codes: departments, service items, halls, channels, tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from reports import queries
from reports.pages.reading import Execute, day_end
from reports.ranges import Range
from schemas.catalogue import DEPARTMENTS, HALL_BY_CODE
from schemas.codes import CHANNEL_LABELS, REVIEW_TAGS, Channel


@dataclass
class Names:
    departments: dict[str, str]
    services: dict[str, str]
    service_department: dict[str, str]

    def department(self, code: str) -> str:
        return self.departments.get(code, "")

    def service(self, code: str) -> str:
        return self.services.get(code, "")


CATALOGUE_DEPARTMENTS: Final = {d.code: d.name for d in DEPARTMENTS}


def names(execute: Execute, span: Range) -> Names:
    departments = dict(CATALOGUE_DEPARTMENTS)
    services: dict[str, str] = {}
    service_department: dict[str, str] = {}
    rows = execute(queries.DASHBOARD_NAMES, {"from_ts": span.start, "to_ts": day_end(span.end - 1)})
    for dept, dept_name, service, service_name in rows:
        if dept_name:
            departments[dept] = dept_name
        services[service] = service_name or services.get(service, "")
        service_department[service] = dept
    return Names(departments, services, service_department)


def hall_name(code: str) -> str:
    hall = HALL_BY_CODE.get(code)
    return hall.name if hall else ""


def channel_name(code: str) -> str:
    try:
        return CHANNEL_LABELS[Channel(code)]
    except ValueError:
        return code


def tag_name(code: str) -> str:
    tag = REVIEW_TAGS.get(code)
    return tag.label if tag else (code or "(无标签)")


def name_of(dimension: str, code: str, known: Names) -> str:
    if dimension == "department":
        return known.department(code)
    if dimension == "service":
        return known.service(code)
    if dimension == "hall":
        return hall_name(code)
    if dimension == "channel":
        return channel_name(code)
    return ""
