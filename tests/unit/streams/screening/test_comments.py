import pytest

from streams.screening.comments import judge_comment, normalized


@pytest.mark.parametrize(
    ("comment", "abuse", "spam"),
    [
        ("垃圾部门，一群废物", ("垃圾", "废物"), ()),
        ("傻逼窗口", ("傻逼",), ()),
        ("服务态度差，SB一个", ("sb",), ()),
        ("代办包过，加 微信 banzheng888", (), ("加微信", "代办包过")),
        ("低息贷款，点击链接 www.dk.cn", (), ("贷款", "www.", "点击链接")),
    ],
)
def test_abuse_and_unrelated_comments_are_flagged(
    comment: str, abuse: tuple[str, ...], spam: tuple[str, ...]
) -> None:
    verdict = judge_comment(comment)
    assert verdict.flagged
    assert verdict.abuse == abuse
    assert verdict.spam == spam
    assert verdict.evidence()


@pytest.mark.parametrize(
    "comment",
    [
        "排队两个小时，窗口只开了一个",
        # jieba keeps these whole: a complaint about the waste-sorting service is not abuse
        "垃圾分类的预约系统老是打不开",
        "垃圾清运收费标准不清楚",
        "网上申报系统一直报错，材料要求也不清楚",
        "",
    ],
)
def test_complaints_about_the_service_are_not_flagged(comment: str) -> None:
    assert not judge_comment(comment).flagged


def test_normalized_folds_width_case_and_spaces() -> None:
    assert normalized("加 Ｖ Ｘ") == "加vx"
