"""National code tables of the 好差评 system: channels, levels, review tags, score indicators,
and the reason codes of rejected messages.

Every table here is part of the contract with channel teams and analysts (ClickHouse enums and
dashboards are built from the codes), so codes are only ever added, never renumbered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Final, Literal


class Channel(StrEnum):
    """Where the evaluation was given; the value is the name channels send on ``ratings.raw``."""

    WEB = "web"
    APP = "app"
    QRCODE = "qrcode"
    COUNTER = "counter"
    KIOSK = "kiosk"
    HOTLINE = "hotline"
    SMS = "sms"

    @property
    def pf(self) -> int:
        """National channel code (pf 1..7)."""
        return _PF_BY_CHANNEL[self]

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]

    @classmethod
    def from_pf(cls, pf: int) -> Channel:
        """The channel of a national pf code; ``ValueError`` if the code is unknown."""
        try:
            return CHANNEL_BY_PF[pf]
        except (KeyError, TypeError):
            raise ValueError(f"unknown channel pf code {pf!r}") from None

    @classmethod
    def parse(cls, value: object) -> Channel:
        """A channel from its name (case-insensitive) or its pf code (int or numeric string).

        Raises ``ValueError`` for anything else, including booleans: JSON ``true`` is not pf 1.
        """
        if isinstance(value, bool):
            raise ValueError(f"unknown channel {value!r}")
        if isinstance(value, int):
            return cls.from_pf(value)
        if isinstance(value, str):
            found = _CHANNEL_BY_TEXT.get(value)
            if found is None:
                found = _CHANNEL_BY_TEXT.get(value.strip().lower())
            if found is not None:
                return found
        raise ValueError(f"unknown channel {value!r}")


_PF_BY_CHANNEL: Final[dict[Channel, int]] = {
    Channel.WEB: 1,
    Channel.APP: 2,
    Channel.QRCODE: 3,
    Channel.COUNTER: 4,
    Channel.KIOSK: 5,
    Channel.HOTLINE: 6,
    Channel.SMS: 7,
}
CHANNEL_BY_PF: Final[dict[int, Channel]] = {pf: ch for ch, pf in _PF_BY_CHANNEL.items()}
CHANNEL_LABELS: Final[dict[Channel, str]] = {
    Channel.WEB: "PC端网站",
    Channel.APP: "移动端",
    Channel.QRCODE: "二维码",
    Channel.COUNTER: "政务服务评价器(窗口平板)",
    Channel.KIOSK: "其他大厅终端(自助机)",
    Channel.HOTLINE: "电话",
    Channel.SMS: "短信",
}
# One dict lookup on the hot path covers names and pf codes given as strings.
_CHANNEL_BY_TEXT: Final[dict[str, Channel]] = {
    **{ch.value: ch for ch in Channel},
    **{str(pf): ch for pf, ch in CHANNEL_BY_PF.items()},
}


def parse_channel(value: object) -> Channel:
    """Module-level alias of :meth:`Channel.parse`."""
    return Channel.parse(value)


class Level(IntEnum):
    """Satisfaction level, interface convention (5 best). GB/T 39046 A.8 numbers it reversed."""

    VERY_DISSATISFIED = 1
    DISSATISFIED = 2
    BASICALLY_SATISFIED = 3
    SATISFIED = 4
    VERY_SATISFIED = 5

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self]


LEVEL_LABELS: Final[dict[int, str]] = {
    5: "非常满意",
    4: "满意",
    3: "基本满意",
    2: "不满意",
    1: "非常不满意",
}


def is_bad(level: int) -> bool:
    """差评: 不满意 or 非常不满意."""
    return level in (1, 2)


def is_good(level: int) -> bool:
    """好评 as Shanghai reports 好评率: 基本满意 and above."""
    return level in (3, 4, 5)


@dataclass(frozen=True, slots=True)
class ReviewTag:
    code: str
    level: int
    label: str


def _tags(*rows: tuple[str, str]) -> dict[str, ReviewTag]:
    # The level is the first digit by national convention; deriving it avoids typos.
    return {code: ReviewTag(code=code, level=int(code[0]), label=label) for code, label in rows}


# The national tag set hall rating pads (政务服务评价器) and the national platform show: eight
# tags per level, numbered 510–517, 406–413, 307–314, 207–214 and 108–115.
REVIEW_TAGS: Final[dict[str, ReviewTag]] = _tags(
    # 5 非常满意
    ("510", "一窗受理一次办结"),
    ("511", "可以先受理后补材料"),
    ("512", "不用提交证明"),
    ("513", "可以全程网上办理"),
    ("514", "可以使用手机办理"),
    ("515", "可以就近办理"),
    ("516", "无需材料直接办理"),
    ("517", "服务热情效率高"),
    # 4 满意
    ("406", "填写一张表单就可完成申报"),
    ("407", "在线提交材料窗口核验"),
    ("408", "一张清单告知全部申报材料"),
    ("409", "用告知承诺减免申报材料"),
    ("410", "可以在线预约办理"),
    ("411", "跑大厅一次办完"),
    ("412", "可以使用自助机办理"),
    ("413", "服务态度较好"),
    # 3 基本满意
    ("307", "一次性告知需要补正的材料"),
    ("308", "提供申报材料样本"),
    ("309", "在承诺的时间内办结"),
    ("310", "办事指南指引准确"),
    ("311", "按办事指南要求的材料即可办理"),
    ("312", "可以快递送达"),
    ("313", "跑动次数与承诺的一致"),
    ("314", "服务态度一般"),
    # 2 不满意
    ("207", "没有提供材料样本"),
    ("208", "没有提供材料清单"),
    ("209", "未在承诺时间内办结"),
    ("210", "同样内容的证明材料被要求多次提交"),
    ("211", "承诺网办但无法在线办理"),
    ("212", "在线预约办理后到实体大厅重复取号排队"),
    ("213", "窗口人员业务不熟练"),
    ("214", "服务态度生硬"),
    # 1 非常不满意
    ("108", "在办事指南之外增加新的审批条件"),
    ("109", "需提供办事指南之外的申报材料"),
    ("110", "无理由超过法定办理时间"),
    ("111", "办事指南提供样本有错"),
    ("112", "承诺在线收取申报材料实际无法收取"),
    ("113", "多头跑窗口和部门"),
    ("114", "跑动次数与承诺的不一致"),
    ("115", "服务态度差效率低"),
)


def tag_level(code: str) -> int:
    """Level a review tag belongs to; ``KeyError`` if the tag is unknown."""
    return REVIEW_TAGS[code].level


ScoreIndicator = Literal[
    "efficiency", "attitude", "competence", "guidance", "convenience", "usability"
]

SCORE_INDICATORS: Final[dict[str, str]] = {
    "efficiency": "办事/服务效率",
    "attitude": "服务态度",
    "competence": "服务水平",
    "guidance": "办事指南精确度",
    "convenience": "办事便捷度",
    "usability": "平台操作性",
}


class RejectReason(StrEnum):
    """Why a message on ``ratings.raw`` did not reach ``ratings.valid`` (or ClickHouse)."""

    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    FIELD_TOO_LONG = "field_too_long"
    UNKNOWN_CHANNEL = "unknown_channel"
    INVALID_LEVEL = "invalid_level"
    UNKNOWN_TAG = "unknown_tag"
    TAG_LEVEL_MISMATCH = "tag_level_mismatch"
    INVALID_REGION_CODE = "invalid_region_code"
    INVALID_SCORE = "invalid_score"
    NAIVE_TIMESTAMP = "naive_timestamp"
    INVALID_TIMESTAMP = "invalid_timestamp"
    FUTURE_EVENT = "future_event"
    DUPLICATE_TRANSACTION = "duplicate_transaction"
    SINK_REFUSED = "sink_refused"
    ACTION_REFUSED = "action_refused"
    INTERNAL_ERROR = "internal_error"

    @property
    def description(self) -> str:
        return REASON_DESCRIPTIONS[self]


REASON_DESCRIPTIONS: Final[dict[RejectReason, str]] = {
    RejectReason.NOT_UTF8: "消息不是合法的 UTF-8 编码 / the message bytes are not valid UTF-8",
    RejectReason.NOT_JSON: "消息不是合法的 JSON / the message is not valid JSON",
    RejectReason.NOT_OBJECT: "JSON 顶层不是对象 / the JSON value is not an object",
    RejectReason.MISSING_FIELD: "缺少必填字段 / a required field is missing",
    RejectReason.INVALID_FIELD: "字段类型或取值不合法 / a field has the wrong type or value",
    RejectReason.FIELD_TOO_LONG: "字段超过最大长度 / a field is longer than allowed",
    RejectReason.UNKNOWN_CHANNEL: "未知的评价渠道 / channel is not a known name or pf code",
    RejectReason.INVALID_LEVEL: "评价等级不在 1..5 / level is not an integer 1..5",
    RejectReason.UNKNOWN_TAG: "未知的评价标签编码 / a review tag is not a national tag code",
    RejectReason.TAG_LEVEL_MISMATCH: (
        "评价标签与评价等级不符 / a review tag belongs to another level"
    ),
    RejectReason.INVALID_REGION_CODE: (
        "行政区划代码不是 6-12 位数字 / region_code is not 6-12 digits"
    ),
    RejectReason.INVALID_SCORE: (
        "打分指标未知或分值不在 1..5 / a score has an unknown indicator or a value outside 1..5"
    ),
    RejectReason.NAIVE_TIMESTAMP: ("评价时间缺少时区偏移 / evaluated_at has no UTC offset"),
    RejectReason.INVALID_TIMESTAMP: (
        "评价时间不是合法的 ISO-8601 时间 / evaluated_at is not a valid ISO-8601 time"
    ),
    RejectReason.FUTURE_EVENT: (
        "评价时间超出允许的时钟偏差 / evaluated_at is further in the future than the clock skew"
    ),
    RejectReason.DUPLICATE_TRANSACTION: (
        "同一办件同一评价次数已评价(一次一评) / "
        "the transaction already has an evaluation for this round"
    ),
    RejectReason.SINK_REFUSED: "ClickHouse 拒绝写入该行 / ClickHouse refused the row",
    RejectReason.ACTION_REFUSED: (
        "办理规则不允许该操作(消息说明原因) / "
        "the case's rules refused the action (the message says why)"
    ),
    RejectReason.INTERNAL_ERROR: (
        "流处理程序内部错误, 消息已保留待修复后重放 / "
        "the pipeline failed on this message; kept for a replay after the fix"
    ),
}
