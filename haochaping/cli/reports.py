"""Reports in the terminal: report, suspects, reconcile, problems (the queries are in reports/)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from haochaping.cli.common import (
    MAX_DAYS,
    MAX_ROWS,
    MAX_SAMPLE,
    MAX_THEMES,
    MAX_THRESHOLD,
    cli,
    fail,
    one_line_errors,
    out,
)
from runtime.clock import CHINA
from runtime.settings import get_settings

# where `haochaping --help` lists these commands
PANEL = "Reports in the terminal"


@cli.command(rich_help_panel=PANEL)
def report(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Shanghai calendar days to cover")
    ] = 1,
    min_total: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_THRESHOLD, help="minimum evaluations for a place in the ranking"
        ),
    ] = 20,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="rows per ranking")] = 10,
) -> None:
    """Satisfaction ranking of departments and service items, least satisfied first."""
    from reports.summary import summary
    from sinks.clickhouse import connect

    settings = get_settings()
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = summary(
            lambda sql, p: list(client.execute(sql, p)), days=days, min_total=min_total, limit=limit
        )
    _render_summary(found, days=days, min_total=min_total)


def _render_summary(found: Any, *, days: int, min_total: int) -> None:
    from haochaping.render import table

    out.print(
        table(
            "landed in ratings, by channel and department (top rows)",
            ("channel", "department", "evaluations", "差评 bad"),
            ((ch, f"{dept} {name}", total, bad) for ch, dept, name, total, bad in found.landed),
        )
    )
    out.print(table("rejected, by reason", ("reason", "messages"), found.rejected))
    _render_miskeyed(found.miskeyed, days=days)
    out.print(
        table(
            "bad-review surge alerts (alert_history, newest first)",
            ("alert", "state", "opened (Shanghai)", "差评 bad (peak)", "score"),
            (
                (alert, status, f"{at:%Y-%m-%d %H:%M}", peak, f"{score:.1f}")
                for alert, status, at, peak, score in found.alerts
            ),
            empty="no alert has fired",
        )
    )
    titles = {"department": "部门 departments", "service": "事项 service items"}
    for dimension, rows in found.rankings.items():
        out.print(
            table(
                f"{titles[dimension]}: raw rates (every evaluation, before review; "
                f"official: satisfaction_official_daily), last {days} day(s), least "
                f"satisfied first, ≥{min_total} rated",
                (
                    "code",
                    "name",
                    "evaluations",
                    "好评率 satisfaction",
                    "差评率 bad",
                    "差评 bad",
                    "mean level",
                ),
                (
                    (
                        key,
                        found.names.get(key, ""),
                        total,
                        f"{good_rate:.2%}",
                        f"{bad_rate:.2%}",
                        bad,
                        f"{mean_level:.2f}",
                    )
                    for key, total, _good, bad, good_rate, bad_rate, mean_level in rows
                ),
                empty=f"no {dimension} has {min_total}+ evaluations yet",
            )
        )


def _render_miskeyed(rows: Any, *, days: int) -> None:
    from haochaping.render import table

    out.print(
        table(
            f"mis-keyed (another Kafka key than the transaction id), last {days} day(s)",
            ("channel", "evaluations", "mis-keyed", "share"),
            ((ch, total, miskeyed, f"{share:.2%}") for ch, total, miskeyed, share in rows),
            empty="nothing landed in this period",
        )
    )


@cli.command(rich_help_panel=PANEL)
def suspects(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="days of evaluations to cover")
    ] = 1,
    by: Annotated[
        str, typer.Option(help="group by department, window (hall window) or staff")
    ] = "department",
    status: Annotated[
        str, typer.Option(help="pending (not reviewed yet), confirmed, cleared or all")
    ] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="rows per table")] = 20,
) -> None:
    """Suspect evaluations (刷好评, 恶意差评) by department, window or staff, with evidence."""
    from reports.suspects import COLUMN, required_channels
    from reports.suspects import suspects as find
    from sinks.clickhouse import connect

    if by not in COLUMN:
        fail(f"--by must be one of {', '.join(COLUMN)}, not {by!r}")
    if status not in ("pending", "confirmed", "cleared", "all"):
        fail(f"--status must be pending, confirmed, cleared or all, not {status!r}")
    settings = get_settings()
    try:
        channels = required_channels(settings.screen_transaction_channels)
    except ValueError as problem:
        fail(str(problem))
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = find(
            lambda sql, p: list(client.execute(sql, p)),
            days=days,
            by=by,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            limit=limit,
            channels=channels,
            horizon_days=settings.transaction_horizon_days,
        )
    _render_suspects(found, days=days, status=status)
    _render_without_transaction(found, horizon_days=settings.transaction_horizon_days)


SUSPECT_COLUMNS = (
    "suspects",
    "好评 good",
    "差评 bad",
    "confirmed",
    "cleared",
    "top score",
    "reasons",
)
EVIDENCE_COLUMNS = (
    "evaluation",
    "evaluated (Shanghai)",
    "department",
    "window",
    "staff",
    "level",
    "score",
    "status",
    "evidence",
)


def _render_suspects(found: Any, *, days: int, status: str) -> None:
    from haochaping.render import table

    out.print(
        table(
            f"suspect evaluations ({status}) by {found.by}, last {days} day(s)",
            (found.by, *SUSPECT_COLUMNS),
            (
                (place, n, good, bad, confirmed, cleared, f"{score:.2f}", ", ".join(reasons))
                for place, n, good, bad, confirmed, cleared, score, reasons in found.summary
            ),
            empty="no suspect evaluation",
        )
    )
    out.print(
        table(
            "evidence, most suspect first (confirm or clear with suspect_confirmed / "
            "suspect_cleared on cases.events)",
            EVIDENCE_COLUMNS,
            (_evidence_row(*row) for row in found.evidence),
            empty="no suspect evaluation",
        )
    )
    out.print(
        table(
            "departments with an implausibly perfect 好评率 (no bad review at their volume; "
            "for review, not excluded)",
            ("day", "department", "evaluations", "peers' 差评率", "p-value"),
            (
                (str(day), dept, total, f"{rate:.2%}", f"{p:.1e}")
                for day, dept, total, rate, p in found.perfect
            ),
            empty="none",
        )
    )


def _render_without_transaction(found: Any, *, horizon_days: int) -> None:
    from haochaping.render import table

    out.print(
        table(
            f"evaluations whose 办件 never came within {horizon_days} days, not reviewed yet "
            "(issue 28's signal; confirm or clear like a suspect)",
            ("evaluation", "evaluated (Shanghai)", "department", "service", "channel", "level"),
            (
                (row[0], f"{datetime.fromtimestamp(row[10], CHINA):%Y-%m-%d %H:%M}", *row[3:7])
                for row in found.without_transaction
            ),
            empty="none",
        )
    )


def _evidence_row(
    eid: str,
    at: datetime,
    dept: str,
    window: str,
    staff: str,
    level: int,
    score: float,
    reasons: list[str],
    evidence: list[str],
    state: str,
) -> tuple[Any, ...]:
    return (
        eid,
        f"{at:%Y-%m-%d %H:%M:%S}",
        dept,
        window,
        staff,
        level,
        f"{score:.2f}",
        state,
        "; ".join(evidence) or ", ".join(reasons),
    )


@cli.command(rich_help_panel=PANEL)
def reconcile(
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_DAYS,
            help="Shanghai calendar days to check, today included (default: the long horizon, "
            "HAOCHAPING_LATE_HORIZON_DAYS, plus one)",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="differences listed")] = 100,
) -> None:
    """对账: the worker's day windows (`satisfaction`, window 1d) against a recount of
    `ratings FINAL`, per day, department and service item; exit 1 if a day inside the long
    horizon differs. Run it once the pipeline has caught up (`haochaping wait --until
    drained`)."""
    from reports.reconcile import reconcile as run_reconcile
    from sinks.clickhouse import connect

    settings = get_settings()
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = run_reconcile(
            lambda sql, p: list(client.execute(sql, p)),
            days=days or settings.late_horizon_days + 1,
            horizon_days=settings.late_horizon_days,
            limit=limit,
        )
    _render_reconciliation(found, settings.late_horizon_days)
    if not found.ok:
        raise typer.Exit(1)


def _render_reconciliation(found: Any, horizon_days: int) -> None:
    from haochaping.render import table

    if found.differences:
        out.print(
            table(
                "day windows that differ from the recount of ratings (window − recount)",
                (
                    "day",
                    "dimension",
                    "key",
                    "window",
                    "recount",
                    "difference",
                    "levels 1–5 window / recount",
                    "in horizon",
                ),
                (
                    (
                        str(d.day),
                        d.dimension,
                        d.key,
                        d.window_total,
                        d.recount_total,
                        f"{d.difference:+d}",
                        f"{list(d.window_levels)} / {list(d.recount_levels)}",
                        "yes" if d.in_horizon else "no",
                    )
                    for d in found.differences
                ),
            )
        )
    listed = (
        f" ({len(found.differences)} listed)" if found.differing > len(found.differences) else ""
    )
    out.print(
        f"reconciled {found.compared} day × department/service rows from {found.first_day} to "
        f"{found.last_day}: {found.differing} differ{listed}, {found.differing_in_horizon} "
        f"of them inside the {horizon_days}-day horizon (from {found.horizon_start})",
        markup=False,
    )


@cli.command(rich_help_panel=PANEL)
def problems(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Shanghai calendar days to cover")
    ] = 30,
    department: Annotated[str | None, typer.Option(help="only this department code")] = None,
    service: Annotated[
        str | None, typer.Option(help="only this service item code (its themes alone)")
    ] = None,
    top: Annotated[
        int,
        typer.Option(min=1, max=MAX_ROWS, help="departments shown, most bad reviews first"),
    ] = 5,
    themes: Annotated[
        int, typer.Option(min=1, max=MAX_THEMES, help="themes and tags per department")
    ] = 8,
    min_bad: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_THRESHOLD, help="bad reviews a department or service item needs"
        ),
    ] = 10,
    min_docs: Annotated[
        int,
        typer.Option(min=1, max=MAX_THRESHOLD, help="bad-review comments a theme must appear in"),
    ] = 3,
    sample: Annotated[
        int,
        typer.Option(min=100, max=MAX_SAMPLE, help="at most this many comments read per query"),
    ] = 200_000,
) -> None:
    """What people complain about: top bad-review tags and recurring themes of bad-review
    comments per department and service item (themes: terms over-represented in 差评 comments
    compared with all comments; see docs/analyst-guide.md)."""
    from datetime import timedelta

    from reports.problems import Options, discover
    from sinks.clickhouse import connect

    settings = get_settings()
    today = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {
        "from_ts": int((today - timedelta(days=days - 1)).timestamp()),
        "to_ts": int((today + timedelta(days=1)).timestamp()),
        "department": department or "",
        "service": service or "",
        "limit": sample,
    }
    options = Options(department, service, top, themes, min_bad, min_docs)
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = discover(lambda sql, p: list(client.execute(sql, p)), params, options)
    _render_problems(found, options, f"last {days} day(s)")


def _tag_label(code: str) -> str:
    from schemas.codes import REVIEW_TAGS

    tag = REVIEW_TAGS.get(code)
    return f"{code} {tag.label}" if tag else code


def _render_problems(found: Any, options: Any, period: str) -> None:
    if not found.departments:
        scope = (
            f"service item {options.service}"
            if options.service
            else f"department {options.department}"
            if options.department
            else "no department"
        )
        out.print(
            f"{scope}: none with {options.min_bad}+ bad reviews in the {period}; "
            "nothing to discover (try --min-bad or --days)",
            markup=False,
        )
        return
    out.print(
        f"problem discovery, {period}: {found.background_terms} terms in "
        f"{found.background_docs} comments compared with the bad-review comments of "
        f"{len(found.departments)} department(s)"
    )
    for dept in found.departments:
        _render_department(dept, options, found.service_name)


def _render_department(dept: Any, options: Any, service_name: str) -> None:
    from haochaping.render import cell, table

    counts = dept.counts
    title = f"{dept.name} {dept.code}"
    if options.service:
        title = f"{service_name} {options.service} ({title})"
    out.print(
        f"\n[bold]{cell(title)}[/]: {counts.bad} bad reviews of {counts.evaluations} "
        f"evaluations ({counts.bad / counts.evaluations:.1%}), {counts.bad_commented} with a "
        "comment",
        highlight=False,
    )
    out.print(
        table(
            "top bad-review tags",
            ("#", "差评标签 tag", "bad reviews", "share of bad"),
            (
                (rank, _tag_label(tag), n, f"{n / counts.bad:.0%}")
                for rank, (tag, n) in enumerate(dept.tags, 1)
            ),
            empty="no tags on these bad reviews",
        )
    )
    sample = (
        f" (a sample of {counts.bad_commented})" if dept.comments < counts.bad_commented else ""
    )
    out.print(
        table(
            f"themes of {dept.comments} bad-review comments{sample}, against all comments",
            ("#", "theme", "bad comments", "share", "lift", "example"),
            (
                (rank, t.term, t.bad_docs, f"{t.share_of_bad:.0%}", f"{t.lift:.1f}×", t.example)
                for rank, t in enumerate(dept.themes, 1)
            ),
            empty=f"no term in {options.min_docs}+ bad-review comments stands out",
        )
    )
    if dept.items:
        out.print(
            table(
                f"service items with {options.min_bad}+ bad reviews",
                ("service item", "bad / evaluations", "top tags", "top themes"),
                (
                    (
                        f"{item.name} {item.code}",
                        f"{item.counts.bad} / {item.counts.evaluations}",
                        ", ".join(f"{_tag_label(t)} ({n})" for t, n in item.tags),
                        ", ".join(f"{t.term} ({t.share_of_bad:.0%})" for t in item.themes),
                    )
                    for item in dept.items
                ),
            )
        )


@cli.command(rich_help_panel=PANEL)
def coverage(
    days: Annotated[
        int,
        typer.Option(min=1, max=MAX_DAYS, help="Shanghai days of 办结 to cover, today included"),
    ] = 7,
    by: Annotated[
        str, typer.Option(help="service, department, channel, hall, window or staff")
    ] = "hall",
    min_transactions: Annotated[
        int,
        typer.Option(min=1, max=MAX_THRESHOLD, help="fewest 办件 for a place in the list"),
    ] = 10,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="rows per table")] = 10,
) -> None:
    """评价率: evaluated 办件 per 办件 (transactions.done), lowest first, and the places with
    办件 but no evaluation at all; then the invitations (主动邀评) and the evaluations whose
    办件 never came."""
    from datetime import timedelta

    from reports.coverage import PLACE
    from reports.coverage import coverage as find
    from sinks.clickhouse import connect

    if by not in PLACE:
        fail(f"--by must be one of {', '.join(PLACE)}, not {by!r}")
    settings = get_settings()
    today = datetime.now(CHINA).date()
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = find(
            lambda sql, p: list(client.execute(sql, p)),
            since=today - timedelta(days=days - 1),
            until=today + timedelta(days=1),
            by=by,
            min_transactions=min_transactions,
            limit=limit,
            horizon_days=settings.transaction_horizon_days,
        )
    _render_coverage(found, horizon_days=settings.transaction_horizon_days)


def _render_coverage(found: Any, *, horizon_days: int) -> None:
    from haochaping.render import table

    rate = "-" if found.rate is None else f"{found.rate:.1%}"
    out.print(
        f"办件 completed since {found.since}: {found.transactions}, evaluated {found.evaluated} "
        f"(评价率 {rate}); invited (主动邀评) {found.invited}, of which rated since "
        f"{found.rated_after_invitation}; default ratings (默认评价, counted apart, in no rate) "
        f"{found.defaulted}"
    )
    columns = (found.by, "办件", "evaluated", "评价率")
    out.print(
        table(
            f"lowest 评价率 by {found.by} (办结 since {found.since})",
            columns,
            ((p, t, e, f"{r:.1%}") for p, t, e, r in found.lowest),
            empty="no place with enough 办件 in this period",
        )
    )
    out.print(
        table(
            f"{found.by} with 办件 and no evaluation at all",
            columns,
            ((p, t, e, f"{r:.1%}") for p, t, e, r in found.unevaluated),
            empty="none: every place was evaluated at least once",
        )
    )
    out.print(
        f"first-round evaluations without a 办件: {found.unknown_transaction} naming a 办件 never "
        f"reported within {horizon_days} days, {found.no_transaction_id} naming none; "
        f"{found.waiting} younger than {horizon_days} days still wait for theirs"
    )
