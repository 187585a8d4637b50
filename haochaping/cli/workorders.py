"""The work-order pages from the terminal: `haochaping users add|disable|list` (who may sign
in) and `haochaping walkthrough` (a case walked through the loop over HTTP, as the demo does)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from haochaping.cli.common import cli, console, fail, one_line_errors, out
from runtime.settings import Settings, get_settings

if TYPE_CHECKING:
    from workorders.users import Users

users_cli = typer.Typer(
    help="Who may sign in to the work-order pages (/login): the office, department handlers, "
    "analysts. Kept in HAOCHAPING_USERS_FILE (mode 0600), passwords hashed with argon2.",
    no_args_is_help=True,
)
cli.add_typer(users_cli, name="users", rich_help_panel="Setup and operations")


def _store() -> Users:
    from workorders.users import Users

    return Users(get_settings().users_file)


@users_cli.command("add")
def add(
    user_id: Annotated[str, typer.Argument(help="sign-in name: letters, digits, _ . -")],
    role: Annotated[str, typer.Option(help="office, department or analyst")],
    department: Annotated[
        list[str] | None,
        typer.Option(help="a department user's department code (repeat for several)"),
    ] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            help="read the password from this environment variable (scripts; else asked twice)"
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="replace a user of this id (role, departments, password)")
    ] = False,
) -> None:
    """Add a user. The password is asked for (twice), or read from --password-env; no user and
    no password ship with haochaping."""
    from workorders.users import UserProblem

    password = _password(password_env)
    try:
        store = _store()
        if replace:
            store.remove(user_id)
        user = store.add(user_id, role, password, tuple(department or ()))
    except UserProblem as problem:
        fail(str(problem))
    where = f" ({', '.join(user.departments)})" if user.departments else ""
    console.print(f"users: added {user.user_id}, {user.role}{where}", highlight=False)


def _password(password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            fail(f"--password-env {password_env}: that environment variable is empty or unset")
        return value
    if not sys.stdin.isatty():
        fail("no terminal to ask the password on: pass --password-env NAME")
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        fail("the two passwords differ")
    return str(first)


@users_cli.command("disable")
def disable(user_id: Annotated[str, typer.Argument(help="the user to disable")]) -> None:
    """Disable a user: their sessions end at their next request; their actions stay recorded."""
    from workorders.users import UserProblem

    try:
        _store().disable(user_id)
    except UserProblem as problem:
        fail(str(problem))
    console.print(f"users: disabled {user_id}", highlight=False)


@users_cli.command("list")
def list_users() -> None:
    """List the users, their roles and departments (never their hashes)."""
    from rich.table import Table

    table = Table("user", "role", "departments", "state")
    for user in sorted(_store().all().values(), key=lambda u: u.user_id):
        state = "disabled" if user.disabled else "active"
        table.add_row(user.user_id, user.role, ", ".join(user.departments), state)
    out.print(table)


@cli.command(rich_help_panel="Queries")
def walkthrough(
    case_id: Annotated[
        str | None, typer.Argument(help="the case (default: the bad review opened last)")
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="the department the office routes it to (default: another one)"),
    ] = None,
    office: Annotated[str, typer.Option(help="the office user who routes it")] = "office-1",
    handler: Annotated[
        str, typer.Option(help="the handler of the --to department who answers it")
    ] = "handler-1",
    office_password_env: Annotated[
        str, typer.Option(help="environment variable with the office user's password")
    ] = "HAOCHAPING_WALK_OFFICE_PASSWORD",
    handler_password_env: Annotated[
        str, typer.Option(help="environment variable with the handler's password")
    ] = "HAOCHAPING_WALK_HANDLER_PASSWORD",
    url: Annotated[
        str | None, typer.Option(help="the dashboard (default: HAOCHAPING_DASHBOARD_HOST:PORT)")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, max=3600, help="seconds to wait per verdict")
    ] = 120,
) -> None:
    """Walk a bad review through the loop in the dashboard's pages, over HTTP: the office routes
    it, the department verifies, calls back, rectifies and records the citizen's rating; then
    print the department's loop indicators of the month."""
    from workorders.walkthrough import WalkFailed, walk

    settings = get_settings()
    people = {
        "office": (office, _password_of(office_password_env)),
        "department": (handler, _password_of(handler_password_env)),
    }
    base = url or f"http://{settings.dashboard_host}:{settings.dashboard_port}"
    with one_line_errors(settings):
        case_id, to = _case_and_department(settings, case_id, to)
        console.print(f"walkthrough: case {case_id}, routed to {to}", highlight=False)
        say = lambda line: console.print(f"walkthrough: {line}", highlight=False)  # noqa: E731
        try:
            list(walk(base, case_id, to, people, say, timeout))
        except WalkFailed as failed:
            fail(f"walkthrough: {failed}")
        except OSError as exc:
            fail(f"walkthrough: the dashboard at {base} does not answer ({exc})")
        _print_loop(settings, to)


def _password_of(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        fail(f"{name} is empty or unset: it holds a password of `haochaping users add`")
    return value


def _case_and_department(
    settings: Settings, case_id: str | None, to: str | None
) -> tuple[str, str]:
    """The case (default: the last opened outside ``to``) and where it goes (default: the first
    department of the catalogue that is not the case's own)."""
    from schemas.catalogue import DEPARTMENTS
    from sinks.clickhouse import connect

    client = connect(settings, analyst=True)
    if case_id is None:
        found = client.execute(
            "SELECT case_id FROM case_events WHERE event = 'opened' "
            "AND department_code != %(to)s ORDER BY at DESC LIMIT 1",
            {"to": to or ""},
        )
        if not found:
            fail("no bad review has opened a case yet: send traffic first (make demo)")
        case_id = str(found[0][0])
    if to is None:
        home = client.execute(
            "SELECT department_code FROM case_events WHERE case_id = %(id)s AND event = 'opened'",
            {"id": case_id},
        )
        to = next(d.code for d in DEPARTMENTS if not home or d.code != home[0][0])
    return case_id, to


def _print_loop(settings: Settings, department: str) -> None:
    from rich.table import Table

    from sinks.clickhouse import connect

    rows = connect(settings, analyst=True).execute(
        "SELECT toString(month), cases, verified_cases, reached_callbacks, "
        "reached_callback_rate, rated_rectifications, rectification_satisfaction_rate "
        "FROM case_loop_monthly WHERE department_code = %(d)s ORDER BY month",
        {"d": department},
    )
    table = Table(
        "month", "cases", "核实", "回访成功", "回访率", "整改已评价", "整改满意率",
        title=f"差评办理指标 of {department} (case_loop_monthly)",
    )  # fmt: skip
    for month, cases, verified, reached, rate, rated, satisfied in rows:
        table.add_row(month, str(cases), str(verified), str(reached), f"{rate:.1%}", str(rated),
                      f"{satisfied:.1%}")  # fmt: skip
    out.print(table)
