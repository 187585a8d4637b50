from __future__ import annotations

import pytest

from schemas.codes import (
    CHANNEL_BY_PF,
    LEVEL_LABELS,
    REASON_DESCRIPTIONS,
    REVIEW_TAGS,
    SCORE_INDICATORS,
    Channel,
    Level,
    RejectReason,
    is_bad,
    is_good,
    parse_channel,
    tag_level,
)


@pytest.mark.parametrize(
    ("channel", "pf"),
    [
        (Channel.WEB, 1),
        (Channel.APP, 2),
        (Channel.QRCODE, 3),
        (Channel.COUNTER, 4),
        (Channel.KIOSK, 5),
        (Channel.HOTLINE, 6),
        (Channel.SMS, 7),
    ],
)
def test_channel_pf_codes_are_the_national_ones(channel: Channel, pf: int) -> None:
    assert channel.pf == pf
    assert Channel.from_pf(pf) is channel
    assert Channel.parse(pf) is channel
    assert Channel.parse(str(pf)) is channel
    assert Channel.parse(channel.value) is channel
    assert parse_channel(channel.value.upper()) is channel
    assert channel.label


def test_channel_names_are_the_contract_names() -> None:
    assert [c.value for c in Channel] == [
        "web",
        "app",
        "qrcode",
        "counter",
        "kiosk",
        "hotline",
        "sms",
    ]
    assert sorted(CHANNEL_BY_PF) == list(range(1, 8))


@pytest.mark.parametrize(
    "value", [0, 8, -1, "0", "fax", "", " ", True, False, None, 4.0, [4], "4.0"]
)
def test_unknown_channels_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        Channel.parse(value)


def test_channel_from_pf_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        Channel.from_pf(9)


def test_levels_and_labels() -> None:
    assert [int(lv) for lv in Level] == [1, 2, 3, 4, 5]
    assert Level(5).label == "非常满意"
    assert Level(4).label == "满意"
    assert Level(3).label == "基本满意"
    assert Level(2).label == "不满意"
    assert Level(1).label == "非常不满意"
    assert set(LEVEL_LABELS) == {1, 2, 3, 4, 5}


def test_bad_and_good_partition_the_levels() -> None:
    assert [is_bad(lv) for lv in range(1, 6)] == [True, True, False, False, False]
    assert [is_good(lv) for lv in range(1, 6)] == [False, False, True, True, True]
    assert not is_bad(0) and not is_good(0)
    assert not is_bad(6) and not is_good(6)
    assert is_bad(Level.DISSATISFIED)


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("517", "服务热情效率高"),
        ("510", "一窗受理一次办结"),
        ("413", "服务态度较好"),
        ("314", "服务态度一般"),
        ("214", "服务态度生硬"),
        ("213", "窗口人员业务不熟练"),
        ("115", "服务态度差效率低"),
        ("113", "多头跑窗口和部门"),
        ("112", "承诺在线收取申报材料实际无法收取"),
        ("110", "无理由超过法定办理时间"),
    ],
)
def test_field_notes_tags_are_known(code: str, label: str) -> None:
    assert REVIEW_TAGS[code].label == label
    assert tag_level(code) == int(code[0])


def test_review_tags_are_exactly_the_national_set() -> None:
    # Eight tags per level, as hall rating pads (评价器) and the national platform number them.
    expected = (
        [str(c) for c in range(510, 518)]
        + [str(c) for c in range(406, 414)]
        + [str(c) for c in range(307, 315)]
        + [str(c) for c in range(207, 215)]
        + [str(c) for c in range(108, 116)]
    )
    assert sorted(REVIEW_TAGS) == sorted(expected)
    assert len(REVIEW_TAGS) == 40


@pytest.mark.parametrize("code", ["414", "415", "315", "215", "116", "405", "306", "206", "107"])
def test_codes_outside_the_national_set_are_unknown(code: str) -> None:
    assert code not in REVIEW_TAGS
    with pytest.raises(KeyError):
        tag_level(code)


def test_every_tag_belongs_to_the_level_of_its_first_digit() -> None:
    per_level = {lv: 0 for lv in range(1, 6)}
    for code, tag in REVIEW_TAGS.items():
        assert tag.code == code
        assert len(code) == 3 and code.isdigit()
        assert tag.level == int(code[0])
        assert tag.label
        assert any("\u4e00" <= ch <= "\u9fff" for ch in tag.label), code
        per_level[tag.level] += 1
    assert per_level == {lv: 8 for lv in range(1, 6)}


def test_review_tag_labels_are_unique() -> None:
    labels = [tag.label for tag in REVIEW_TAGS.values()]
    assert len(set(labels)) == len(labels)


def test_score_indicators() -> None:
    assert list(SCORE_INDICATORS) == [
        "efficiency",
        "attitude",
        "competence",
        "guidance",
        "convenience",
        "usability",
    ]
    assert all(SCORE_INDICATORS.values())


def test_every_reject_reason_has_a_bilingual_description() -> None:
    expected = {
        "not_utf8",
        "not_json",
        "not_object",
        "missing_field",
        "invalid_field",
        "field_too_long",
        "unknown_channel",
        "invalid_level",
        "unknown_tag",
        "tag_level_mismatch",
        "invalid_region_code",
        "invalid_score",
        "naive_timestamp",
        "invalid_timestamp",
        "future_event",
        "duplicate_transaction",
        "sink_refused",
        "action_refused",
        "internal_error",
    }
    assert {r.value for r in RejectReason} == expected
    assert set(REASON_DESCRIPTIONS) == set(RejectReason)
    for reason in RejectReason:
        text = reason.description
        assert "/" in text and "\n" not in text
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), reason
        assert any("a" <= ch <= "z" for ch in text), reason
