"""The tables of each page: their columns, in the order and with the labels the office reads,
shared by the HTML pages and their CSV exports so that both always show the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | rate | float | spark | department


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]


def _counts(first: Column, *rest: Column) -> tuple[Column, ...]:
    return (
        first,
        *rest,
        Column("evaluations", "评价量", "int"),
        Column("good_rate", "好评率", "rate"),
        Column("bad_rate", "差评率", "rate"),
        Column("bad_reviews", "差评", "int"),
    )


_ALERT_COLUMNS: Final = (
    Column("status_label", "状态"),
    Column("dimension_label", "维度"),
    Column("key", "编码"),
    Column("name", "名称"),
    Column("opened_at", "开始时间"),
    Column("peak_bad", "峰值差评", "int"),
    Column("peak_total", "峰值评价量", "int"),
    Column("expected", "预期差评", "float"),
    Column("score", "显著性 (−log10 p)", "float"),
)
_DEADLINE_COLUMNS: Final = (
    Column("case_id", "案件编号"),
    Column("department", "部门编码", "department"),
    Column("name", "部门"),
    Column("deadline_label", "环节"),
    Column("status_label", "状态"),
    Column("due_at", "到期时间"),
    Column("hours_late", "超期小时", "float"),
)
_INDICATOR_COLUMNS: Final = (
    Column("department", "部门编码", "department"),
    Column("name", "部门"),
    Column("bad_reviews", "差评", "int"),
    Column("callback_rate", "回访率", "rate"),
    Column("rectification_rate", "整改率", "rate"),
    Column("on_time_rectification_rate", "按期整改率", "rate"),
    Column("appeals", "申诉", "int"),
)


def _public_columns(what: str) -> tuple[Column, ...]:
    return (
        Column("code", f"{what}编码"),
        Column("name", what),
        Column("evaluations", "评价量", "int"),
        Column("good_rate", "好评率", "rate"),
        Column("bad_rate", "差评率", "rate"),
        Column("bad_reviews", "差评", "int"),
        Column("mean_level", "平均等级", "float"),
        Column("trend", "好评率走势（日）", "spark"),
    )


def _coverage_columns() -> tuple[Column, ...]:
    return (
        Column("code", "编码"),
        Column("name", "名称"),
        Column("transactions", "办件量", "int"),
        Column("evaluated", "已评价办件", "int"),
        Column("evaluation_rate", "评价率", "rate"),
    )


COLUMNS: Final[dict[str, dict[str, Table]]] = {
    "coverage": {
        "lowest": Table("评价率最低", _coverage_columns()),
        "unevaluated": Table("有办件、无任何评价", _coverage_columns()),
    },
    "overview": {
        "trend": Table(
            "趋势",
            (
                Column("bucket", "时段"),
                Column("evaluations", "评价量", "int"),
                Column("bad_reviews", "差评", "int"),
                Column("good_rate", "好评率", "rate"),
                Column("bad_rate", "差评率", "rate"),
            ),
        ),
        "channels": Table(
            "渠道分布",
            _counts(Column("name", "渠道"), Column("share", "占比", "rate")),
        ),
        "alerts": Table("正在进行的差评激增", _ALERT_COLUMNS),
    },
    "rankings": {
        "rows": Table(
            "排名",
            (
                Column("code", "编码", "department"),
                Column("name", "名称"),
                Column("evaluations", "评价量", "int"),
                Column("good_rate", "好评率", "rate"),
                Column("bad_rate", "差评率", "rate"),
                Column("bad_reviews", "差评", "int"),
                Column("mean_level", "平均等级", "float"),
                Column("evaluation_rate", "评价率", "rate"),
                Column("trend", "好评率走势", "spark"),
            ),
        ),
    },
    "department": {
        "services": Table("服务事项", _counts(Column("code", "事项编码"), Column("name", "事项"))),
        "halls": Table("服务大厅", _counts(Column("code", "大厅编码"), Column("name", "大厅"))),
        "channels": Table("渠道", _counts(Column("name", "渠道"))),
        "tags": Table(
            "差评标签",
            (
                Column("code", "标签"),
                Column("name", "含义"),
                Column("bad_reviews", "差评", "int"),
            ),
        ),
        "themes": Table(
            "反复出现的投诉主题",
            (
                Column("term", "主题"),
                Column("bad_comments", "差评留言数", "int"),
                Column("share", "占差评留言", "rate"),
                Column("lift", "倍数", "float"),
                Column("example", "例句"),
            ),
        ),
        "recent_bad": Table(
            "最近的差评（已脱敏）",
            (
                Column("evaluated_at", "时间"),
                Column("service_name", "事项"),
                Column("channel", "渠道"),
                Column("hall", "大厅"),
                Column("level", "等级", "int"),
                Column("tags", "标签"),
                Column("comment", "留言"),
            ),
        ),
        "alerts": Table("差评激增", _ALERT_COLUMNS),
        "cases": Table("整改指标", _INDICATOR_COLUMNS),
        "deadlines": Table("即将到期与超期", _DEADLINE_COLUMNS),
    },
    "alerts": {"alerts": Table("差评激增", _ALERT_COLUMNS)},
    "followup": {
        "departments": Table(
            "各部门待办",
            (
                Column("department", "部门编码", "department"),
                Column("name", "部门"),
                Column("overdue", "超期", "int"),
                Column("due_soon", "即将到期", "int"),
            ),
        ),
        "overdue": Table("超期案件", _DEADLINE_COLUMNS),
        "due_soon": Table("即将到期案件", _DEADLINE_COLUMNS),
        "indicators": Table("回访率、整改率、按期整改率（最差在前）", _INDICATOR_COLUMNS),
    },
    "public": {
        "departments": Table("部门好评率排名（公开）", _public_columns("部门")),
        "services": Table("事项好评率排名（公开）", _public_columns("事项")),
    },
}
