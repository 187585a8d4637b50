"""`haochaping problems` on the real ClickHouse 18.16: planted complaints come out first, for
the department that received them, and the queries behind it count a replayed row once."""

from __future__ import annotations

import random
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_driver import Client

from reports import queries
from reports.themes import tokens
from runtime.settings import Settings
from sinks.rows import RATINGS_COLUMNS
from tests.integration.harness import HAOCHAPING, env_for

NOW = datetime.now(UTC).replace(microsecond=0)
DEPT_A, DEPT_B = "11310101010100152D", "11310000000000051C"
SERVICE_A, SERVICE_B = "310101-000201001000-1", "310000-200005001000-1"

GOOD = (
    "办事效率很高，工作人员很耐心",
    "全程网上办理，不用跑腿，点赞",
    "窗口工作人员态度很好，讲解很清楚",
    "材料一次性告知，办理很顺利",
    "手机上就能办理，太方便了",
    "预约后到现场很快就办理好了",
    "整体挺顺利的，就是排队稍微久一点",
    "页面清楚，系统好用",
)
VARIED_BAD = (
    "办理材料要求不清楚，工作人员也说不明白",
    "工作人员态度比较生硬",
    "超过承诺期限了还没办结",
    "补正材料反复提交，办理很慢",
    "证明材料被要求提交两遍",
    "收费标准不透明",
)
QUEUE = (
    "排队时间太长，等了两个小时",
    "大厅排队人太多，等待时间太长",
    "取号以后排队等待了一上午",
    "排队排了很久，等待时间太长了",
)
LOGIN = (
    "系统一直登录不上，页面卡顿",
    "网上系统登录不上，只能跑现场",
    "登录不上系统，页面卡顿严重",
    "系统卡顿，登录不上，提交不了",
)


def row(
    i: int,
    dept: str,
    service: str,
    level: int,
    comment: str,
    tags: list[str],
    at: datetime | None = None,
) -> tuple[Any, ...]:
    at = at or NOW - timedelta(hours=1 + i % 48)
    values: dict[str, Any] = {
        "evaluation_id": f"e{dept[-3:]}{i:05d}",
        "transaction_id": f"t{i}",
        "evaluation_round": 1,
        "service_code": service,
        "service_name": "护照办理" if service == SERVICE_A else "异地就医备案",
        "department_code": dept,
        "department_name": "黄浦区行政服务中心" if dept == DEPT_A else "上海市医疗保障局",
        "region_code": "310101",
        "channel": "counter" if dept == DEPT_A else "web",
        "channel_code": 1,
        "level": level,
        "tags": tags,
        "comment": comment,
        "evaluator_hash": "",
        "device_hash": "",
        "network_hash": "",
        "evaluator_type": 1,
        "hall_code": "",
        "window_code": "",
        "staff_id": "",
        "evaluated_at": at,
        "ingested_at": at + timedelta(seconds=2),
        "late": 0,
        "source": "test",
    }
    return tuple(values.get(column, 0) for column in RATINGS_COLUMNS)


def dataset() -> list[tuple[Any, ...]]:
    """Per department 150 good reviews and 40 bad ones, 25 of them with the planted theme."""
    rng = random.Random(11)
    rows: list[tuple[Any, ...]] = []
    for dept, service, planted, tag in (
        (DEPT_A, SERVICE_A, QUEUE, "212"),
        (DEPT_B, SERVICE_B, LOGIN, "211"),
    ):
        base = len(rows)
        for i in range(150):
            rows.append(row(base + i, dept, service, rng.choice((3, 4, 5)), rng.choice(GOOD), []))
        for i in range(150, 175):
            rows.append(
                row(base + i, dept, service, rng.choice((1, 2)), rng.choice(planted), [tag])
            )
        for i in range(175, 190):
            rows.append(row(base + i, dept, service, 2, rng.choice(VARIED_BAD), ["214"]))
    # an old bad review outside the period, and one without a comment
    old = NOW - timedelta(days=90)
    rows.append(row(9999, DEPT_A, SERVICE_A, 1, "系统登录不上，系统登录不上", ["211"], old))
    rows.append(row(9998, DEPT_A, SERVICE_A, 1, "", ["115"]))
    return rows


def insert(client: Client, rows: list[tuple[Any, ...]]) -> None:
    client.execute(f"INSERT INTO ratings ({', '.join(RATINGS_COLUMNS)}) VALUES", rows)


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HAOCHAPING, "problems", *args],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def sections(stdout: str) -> dict[str, list[str]]:
    """The output lines of each department, keyed by department code."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        for code in (DEPT_A, DEPT_B):
            if line.startswith(f"黄浦区行政服务中心 {code}:") or line.startswith(
                f"上海市医疗保障局 {code}:"
            ):
                current = found[code] = []
        if current is not None:
            current.append(line)
    return found


def table_rows(lines: list[str], title: str) -> list[list[str]]:
    """The cells of the rows of the table whose title contains ``title``."""
    start = next(i for i, line in enumerate(lines) if title in line)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if cells[0]:  # not the continuation of a wrapped row
                rows.append(cells)
    return rows


def test_planted_themes_come_first_for_the_right_department(
    settings: Settings, clickhouse: Client
) -> None:
    rows = dataset()
    insert(clickhouse, rows)
    insert(clickhouse, rows[:50])  # a replay: counted once
    result = run(settings, "--days", "7", "--min-bad", "5", "--themes", "5")
    assert result.returncode == 0, result.stderr
    parts = sections(result.stdout)
    assert set(parts) == {DEPT_A, DEPT_B}, result.stdout
    assert "40 bad reviews of 190 evaluations" in parts[DEPT_B][0]
    # DEPT_A: the no-comment bad review counts, the 90-day-old one does not
    assert "41 bad reviews of 191 evaluations" in parts[DEPT_A][0]

    queue = [r[1] for r in table_rows(parts[DEPT_A], "themes of")]
    login = [r[1] for r in table_rows(parts[DEPT_B], "themes of")]
    queue_terms = {t for text in QUEUE for t in tokens(text)}
    login_terms = {t for text in LOGIN for t in tokens(text)}
    assert set(queue[:3]) <= queue_terms and "排队" in queue[:3], result.stdout
    assert not login_terms & set(queue), result.stdout
    assert set(login[:3]) <= login_terms and "登录不上" in login[:3], result.stdout
    assert not queue_terms & set(login), result.stdout
    # common words are never themes
    assert not {"办理", "工作人员"} & set(queue + login)

    tags_a = table_rows(parts[DEPT_A], "top bad-review tags")
    assert tags_a[0][1:3] == ["212 在线预约办理后到实体大厅重复取号排队", "25"]
    tags_b = table_rows(parts[DEPT_B], "top bad-review tags")
    assert tags_b[0][1:3] == ["211 承诺网办但无法在线办理", "25"]
    assert tags_b[1][1:3] == ["214 服务态度生硬", "15"]
    # the example shows a comment with the theme
    first = table_rows(parts[DEPT_B], "themes of")[0]
    assert first[1] in first[5]


def test_filters_min_bad_and_an_empty_period(settings: Settings, clickhouse: Client) -> None:
    insert(clickhouse, dataset())
    only_b = run(settings, "--department", DEPT_B, "--min-bad", "5")
    assert only_b.returncode == 0, only_b.stderr
    assert set(sections(only_b.stdout)) == {DEPT_B}
    service = run(settings, "--service", SERVICE_A, "--min-bad", "5", "--themes", "3")
    assert service.returncode == 0, service.stderr
    assert f"护照办理 {SERVICE_A} (黄浦区行政服务中心 {DEPT_A})" in service.stdout
    assert DEPT_B not in service.stdout
    none = run(settings, "--min-bad", "1000")
    assert none.returncode == 0
    assert "none with 1000+ bad reviews" in none.stdout


def test_unreachable_clickhouse_is_one_line(settings: Settings) -> None:
    result = subprocess.run(
        [HAOCHAPING, "problems"],
        env={**env_for(settings), "HAOCHAPING_CLICKHOUSE_PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "unreachable" in result.stderr and "Traceback" not in result.stderr


def test_the_queries_directly(clickhouse: Client) -> None:
    rows = dataset()
    insert(clickhouse, rows)
    insert(clickhouse, rows[150:190])  # DEPT_A's bad reviews delivered twice
    params: dict[str, Any] = {
        "from_ts": int((NOW - timedelta(days=7)).timestamp()),
        "to_ts": int((NOW + timedelta(days=1)).timestamp()),
        "department": "",
        "service": "",
        "limit": 100_000,
    }
    groups = {r[0]: r[1:] for r in clickhouse.execute(queries.PROBLEM_GROUPS, params)}
    assert groups[DEPT_A] == ("黄浦区行政服务中心", SERVICE_A, "护照办理", 191, 41, 40)
    assert groups[DEPT_B] == ("上海市医疗保障局", SERVICE_B, "异地就医备案", 190, 40, 40)

    tags = {(d, t): n for d, _s, t, n in clickhouse.execute(queries.PROBLEM_BAD_TAGS, params)}
    assert tags == {
        (DEPT_A, "212"): 25,
        (DEPT_A, "214"): 15,
        (DEPT_A, "115"): 1,
        (DEPT_B, "211"): 25,
        (DEPT_B, "214"): 15,
    }

    bad = clickhouse.execute(queries.PROBLEM_BAD_COMMENTS, {**params, "department": DEPT_B})
    assert len(bad) == 40 and {r[0] for r in bad} == {DEPT_B}
    assert sum("登录不上" in r[4] for r in bad) >= 15
    by_service = clickhouse.execute(queries.PROBLEM_BAD_COMMENTS, {**params, "service": SERVICE_A})
    assert len(by_service) == 40 and {r[2] for r in by_service} == {SERVICE_A}

    # the one-department forms (through the sorting key) on the replayed department
    of_a = {**params, "department": DEPT_A}
    groups_a = clickhouse.execute(queries.PROBLEM_GROUPS_OF_DEPARTMENT, of_a)
    assert [(r[0], *r[2:]) for r in groups_a] == [(DEPT_A, *groups[DEPT_A][1:])]
    tags_a = clickhouse.execute(queries.PROBLEM_BAD_TAGS_OF_DEPARTMENT, of_a)
    of_dept_a = {k: n for k, n in tags.items() if k[0] == DEPT_A}
    assert {(d, t): n for d, _s, t, n in tags_a} == of_dept_a
    bad_a = clickhouse.execute(queries.PROBLEM_BAD_COMMENTS_OF_DEPARTMENT, of_a)
    assert len(bad_a) == 40 and bad_a == clickhouse.execute(queries.PROBLEM_BAD_COMMENTS, of_a)

    everything = clickhouse.execute(queries.PROBLEM_ALL_COMMENTS, params)
    assert len(everything) == 380  # every comment of the period once, replays included once
    sample = clickhouse.execute(queries.PROBLEM_ALL_COMMENTS, {**params, "limit": 50})
    assert len(sample) == 50
    assert sample == clickhouse.execute(queries.PROBLEM_ALL_COMMENTS, {**params, "limit": 50})
