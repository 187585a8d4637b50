"""The cluster form of a single-node migration statement (``clickhouse_cluster`` set).

The migrations (sinks/migrations/) are written once, for one server. On a replicated
ClickHouse the runner turns each statement into its cluster form here, so a migration added
later needs nothing of its own to run on a cluster:

- ``CREATE``/``DROP``/``ALTER`` of a table, view or database gets ``ON CLUSTER <name>``: every
  replica runs it from the DDL queue in ZooKeeper, including one that is down and comes back;
- every ``*MergeTree(...)`` engine (a table's, or a materialized view's inner table's) becomes
  its ``Replicated*MergeTree('/clickhouse/tables/{shard}/<database>/<table>', '{replica}', ...)``
  form: the replicas copy each other's inserts, and ClickHouse drops an insert block it has
  already seen (the sink's retried batch on the other replica lands once);
- the tables a statement reads (``FROM``/``JOIN``/``TO``/``AS`` a table of the database) are
  qualified with the database: ClickHouse 18.16 qualifies the name an ``ON CLUSTER`` query
  creates, but runs it on each replica in the ``default`` database, so a view's
  ``FROM ratings`` would read ``default.ratings`` there;
- ``INSERT`` stays local: the connected replica's insert replicates by itself.

``distributed_statements`` gives the ``<table>_all`` read tables (``Distributed`` over the
replicated tables): a query on either replica reads through them, and ClickHouse picks a
live replica. One shard: every replica holds every row (docs/scaling.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DISTRIBUTED_SUFFIX = "_all"

_NAME = r"(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)(?:\.(?:`[^`]+`|[A-Za-z_][A-Za-z0-9_]*))?"

# the object a DDL statement names, and where ON CLUSTER goes (right after that name)
_DDL = re.compile(
    r"^(?P<head>\s*(?:CREATE|ATTACH)\s+(?:OR\s+REPLACE\s+)?"
    r"(?:TEMPORARY\s+)?(?P<kind>TABLE|VIEW|MATERIALIZED\s+VIEW|DATABASE|DICTIONARY)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?"
    r"|\s*(?:DROP|DETACH)\s+(?P<dkind>TABLE|VIEW|DATABASE|DICTIONARY)\s+(?:IF\s+EXISTS\s+)?"
    r"|\s*(?:ALTER|OPTIMIZE|TRUNCATE)\s+TABLE\s+(?:IF\s+EXISTS\s+)?"
    r"|\s*RENAME\s+TABLE\s+)"
    r"(?P<name>" + _NAME + r")",
    re.IGNORECASE,
)
_ON_CLUSTER = re.compile(r"\bON\s+CLUSTER\b", re.IGNORECASE)
_ENGINE = re.compile(r"\bENGINE\s*=\s*(?P<family>[A-Za-z]*)MergeTree\b", re.IGNORECASE)
# a table the statement reads: FROM t, JOIN t (not ARRAY JOIN); a name followed by "(" is a
# function, one followed by "." is qualified already
_READ = re.compile(
    r"(?P<kw>(?<!ARRAY\s)\bJOIN|\bFROM)\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)\b(?!\s*[.(])",
    re.IGNORECASE,
)
# right after the named object: a materialized view's TO t, or a CREATE TABLE x AS t clone
_TARGET = re.compile(
    r"^(?P<lead>(?:\s+ON\s+CLUSTER\s+\S+)?\s+(?P<kw>TO|AS))\s+"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\b(?!\s*[.(])",
    re.IGNORECASE,
)


def _closing(text: str, start: int) -> int:
    """Index just past the parenthesis that closes the one at ``text[start]``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unbalanced parentheses in: {text[start : start + 80]}")


def _bare(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip("`")


def replicated_engine(statement: str, database: str) -> str:
    """``statement`` with each ``*MergeTree(...)`` engine in its replicated form."""
    match = _DDL.match(statement)
    table = _bare(match["name"]) if match else "table"
    if match and (match["kind"] or "").upper().startswith("MATERIALIZED"):
        table = f".inner.{table}"  # a materialized view's own (inner) table

    out, at = [], 0
    for engine in _ENGINE.finditer(statement):
        family = engine["family"]
        if family.lower().startswith("replicated"):
            continue
        args, end = "", engine.end()
        opening = end + len(statement[end:]) - len(statement[end:].lstrip())
        if statement.startswith("(", opening):
            close = _closing(statement, opening)
            args, end = statement[opening + 1 : close - 1].strip(), close
        path = f"'/clickhouse/tables/{{shard}}/{database}/{table}', '{{replica}}'"
        out += [
            statement[at : engine.start()],
            f"ENGINE = Replicated{family}MergeTree({path}{', ' + args if args else ''})",
        ]
        at = end
    out.append(statement[at:])
    return "".join(out)


def qualify_tables(statement: str, database: str, tables: Iterable[str]) -> str:
    """``statement`` with every table of ``tables`` it names bare qualified by ``database``."""
    known = set(tables)

    def replace(found: re.Match[str]) -> str:
        if found["name"] not in known:
            return found[0]
        return f"{found['kw']} {database}.{found['name']}"

    head = _DDL.match(statement)
    if head is None:
        return _READ.sub(replace, statement)
    # the named object itself is left to ON CLUSTER, which qualifies it on 18.16
    rest = statement[head.end() :]
    target = _TARGET.match(rest)
    if target and target["name"] in known and target["name"].upper() != "SELECT":
        rest = f"{target['lead']} {database}.{target['name']}{rest[target.end() :]}"
    return statement[: head.end()] + _READ.sub(replace, rest)


def cluster_statement(
    statement: str, cluster: str, database: str, tables: Iterable[str] = ()
) -> str:
    """The cluster form of one single-node migration statement (see the module's doc).

    ``tables``: the tables and views of ``database`` so far (those a statement may read).
    """
    head = _DDL.match(statement)
    if head is None:
        return statement  # INSERT, SELECT, SET, …: on the connected replica
    if (head["kind"] or head["dkind"] or "").upper() == "DATABASE":
        tables = ()
    out = replicated_engine(statement, database)
    out = qualify_tables(out, database, tables)
    if not _ON_CLUSTER.search(out):
        end = _DDL.match(out)
        assert end is not None
        out = f"{out[: end.end()]} ON CLUSTER {cluster}{out[end.end() :]}"
    return out


def distributed_statements(
    cluster: str, database: str, table: str, recreate: bool = False
) -> list[str]:
    """DDL of ``<table>_all``, the Distributed read table over the replicated ``table``;
    ``recreate`` drops it first (its columns no longer match the table's)."""
    name = f"{database}.{table}{DISTRIBUTED_SUFFIX}"
    create = (
        f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER {cluster} AS {database}.{table} "
        f"ENGINE = Distributed({cluster}, {database}, {table})"
    )
    if recreate:
        return [f"DROP TABLE IF EXISTS {name} ON CLUSTER {cluster}", create]
    return [create]
