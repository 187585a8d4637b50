"""`haochaping problems` without the rendering: read the period from ClickHouse, count bad
reviews and tags per department and service item, and find each one's themes."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reports import queries
from reports.themes import Background, Theme, group_comments, themes_against

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Options:
    department: str | None = None
    service: str | None = None
    top: int = 5
    themes: int = 8
    min_bad: int = 10
    min_docs: int = 3


@dataclass
class Counts:
    evaluations: int = 0
    bad: int = 0
    bad_commented: int = 0


@dataclass
class ItemFinding:
    code: str
    name: str
    counts: Counts
    tags: list[tuple[str, int]]
    themes: list[Theme]


@dataclass
class DepartmentFinding:
    code: str
    name: str
    counts: Counts
    tags: list[tuple[str, int]]
    themes: list[Theme]
    comments: int  # bad-review comments read for the themes
    items: list[ItemFinding] = field(default_factory=list)


@dataclass
class ProblemsReport:
    background_terms: int
    background_docs: int
    departments: list[DepartmentFinding]
    service_name: str = ""  # of options.service, when one was asked for


def _queries(params: dict[str, Any]) -> tuple[str, str, str]:
    """The groups, bad tags and bad comments queries; for one department, through the
    sorting key: that department's rows only."""
    if params.get("department"):
        return (
            queries.PROBLEM_GROUPS_OF_DEPARTMENT,
            queries.PROBLEM_BAD_TAGS_OF_DEPARTMENT,
            queries.PROBLEM_BAD_COMMENTS_OF_DEPARTMENT,
        )
    return queries.PROBLEM_GROUPS, queries.PROBLEM_BAD_TAGS, queries.PROBLEM_BAD_COMMENTS


def discover(execute: Execute, params: dict[str, Any], options: Options) -> ProblemsReport:
    groups_sql, tags_sql, comments_sql = _queries(params)
    groups = execute(groups_sql, params)
    tag_rows = execute(tags_sql, params)
    bad_rows = execute(comments_sql, params)
    background = Background(c for (c,) in execute(queries.PROBLEM_ALL_COMMENTS, params))

    dept_counts, service_counts, names, services_of = _count(groups)
    dept_tags: dict[str, Counter[str]] = defaultdict(Counter)
    service_tags: dict[str, Counter[str]] = defaultdict(Counter)
    for dept, svc, tag, bad in tag_rows:
        dept_tags[dept][tag] += bad
        service_tags[svc][tag] += bad
    by_dept = group_comments(bad_rows, "department")
    by_service = group_comments(bad_rows, "service")

    def comments(groups: dict[str, Any], code: str) -> list[Any]:
        return groups[code].comments if code in groups else []

    chosen = sorted(
        (d for d, c in dept_counts.items() if c.bad >= options.min_bad),
        key=lambda d: (-dept_counts[d].bad, d),
    )[: options.top]
    findings = []
    for dept in chosen:
        own = comments(by_service, options.service) if options.service else comments(by_dept, dept)
        tags = service_tags[options.service] if options.service else dept_tags[dept]
        finding = DepartmentFinding(
            dept,
            names.get(dept, ""),
            dept_counts[dept],
            tags.most_common(options.themes),
            themes_against(own, background, top=options.themes, min_docs=options.min_docs),
            len(own),
        )
        if not options.service:
            items = sorted(
                (s for s in services_of[dept] if service_counts[s].bad >= options.min_bad),
                key=lambda s: (-service_counts[s].bad, s),
            )[: options.top]
            finding.items = [
                ItemFinding(
                    svc,
                    names.get(svc, ""),
                    service_counts[svc],
                    service_tags[svc].most_common(3),
                    themes_against(
                        comments(by_service, svc), background, top=3, min_docs=options.min_docs
                    ),
                )
                for svc in items
            ]
        findings.append(finding)
    service_name = names.get(options.service or "", "")
    return ProblemsReport(len(background.doc_freq), background.docs, findings, service_name)


@dataclass
class DepartmentProblems:
    tags: list[tuple[str, int]]
    themes: list[Theme]


def department_problems(
    execute: Execute, params: dict[str, Any], *, top: int, min_docs: int
) -> DepartmentProblems:
    """The tags and themes :func:`discover` finds for the department ``params["department"]``
    (the same queries, tie orders and background), without counting its evaluations first:
    for a caller that has counted them and knows it has enough bad reviews."""
    tags: Counter[str] = Counter()
    for _dept, _svc, tag, bad in execute(queries.PROBLEM_BAD_TAGS_OF_DEPARTMENT, params):
        tags[tag] += bad
    own = comments_of(execute(queries.PROBLEM_BAD_COMMENTS_OF_DEPARTMENT, params))
    background = Background(c for (c,) in execute(queries.PROBLEM_ALL_COMMENTS, params))
    return DepartmentProblems(
        tags.most_common(top), themes_against(own, background, top=top, min_docs=min_docs)
    )


def comments_of(rows: list[tuple[Any, ...]]) -> list[str]:
    """The comments of PROBLEM_BAD_COMMENTS rows, in their order (as group_comments keeps)."""
    return [comment for *_, comment in rows if comment]


def _count(
    groups: list[tuple[Any, ...]],
) -> tuple[dict[str, Counts], dict[str, Counts], dict[str, str], dict[str, list[str]]]:
    """Per department and per service item: evaluations, bad reviews, commented ones."""
    dept_counts: dict[str, Counts] = defaultdict(Counts)
    service_counts: dict[str, Counts] = {}
    names: dict[str, str] = {}
    services_of: dict[str, list[str]] = defaultdict(list)
    for dept, dept_name, svc, svc_name, evaluations, bad, bad_commented in groups:
        names[dept] = names.get(dept) or dept_name
        names[svc] = names.get(svc) or svc_name
        total = dept_counts[dept]
        total.evaluations += evaluations
        total.bad += bad
        total.bad_commented += bad_commented
        service_counts[svc] = Counts(evaluations, bad, bad_commented)
        services_of[dept].append(svc)
    return dept_counts, service_counts, names, services_of
