"""The `haochaping` command: worker, sink, notify, dashboard, simulate, migrate, topics, wait,
report, suspects, reconcile, problems, schema, settings, users, walkthrough.

Every command turns a failure it understands (an unreachable broker or server, a refused
query, a missing secret) into one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import logging
import sys

# the command modules register their commands on `cli` as they are imported
from haochaping.cli import ops, reports, services, simulate, workorders  # noqa: F401
from haochaping.cli.common import cli, console
from haochaping.cli.simulate import parse_start
from runtime.settings import Settings

__all__ = ["cli", "main", "parse_start"]


def main() -> None:
    # the driver logs each failed connection with a traceback; commands say it in one line
    logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except SettingsError as exc:
        # an environment value that does not parse (a list setting not written as JSON)
        console.print(
            f"[bold red]error:[/] {exc}: write a list setting as JSON, e.g. "
            '\'["127.0.0.1", "localhost"]\'',
            highlight=False,
        )
        sys.exit(1)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        first = exc.errors()[0]
        name = "HAOCHAPING_" + str(first["loc"][0]).upper() if first["loc"] else "a setting"
        console.print(f"[bold red]error:[/] {name}: {first['msg']}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
