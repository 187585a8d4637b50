"""Problem discovery: planted complaints surface first, everyday words do not."""

from __future__ import annotations

import random

import pytest

from reports.themes import (
    Background,
    Theme,
    group_comments,
    snippet,
    themes,
    themes_against,
    tokens,
)

# what any comment, good or bad, tends to say
ORDINARY = (
    "办事效率很高，工作人员很耐心",
    "全程网上办理，不用跑腿，点赞",
    "窗口工作人员态度很好，讲解很清楚",
    "材料一次性告知，办理很顺利",
    "手机上就能办理，太方便了",
    "工作人员主动帮忙填表，办理很快",
    "预约后到现场很快就办理好了",
    "还行吧，办理流程有点复杂",
    "工作人员比较热情，办理材料清楚",
    "整体挺顺利的，就是排队稍微久一点",
)
# bad reviews about nothing in particular: each grievance voiced by a few people only
BAD_ORDINARY = (
    "办理材料要求不清楚，工作人员也说不明白",
    "工作人员态度比较生硬",
    "超过承诺期限了还没办结",
    "网上说能办理，结果还是要跑现场",
    "工作人员对业务不熟悉",
    "补正材料反复提交，办理很慢",
    "办事指南写得含糊，工作人员解释不清",
    "证明材料被要求提交两遍",
    "窗口工作人员推来推去",
    "收费标准不透明，办理费用偏高",
    "办理结果通知得太晚",
    "电子证照调取失败，工作人员让回去等",
)
QUEUE = (
    "排队时间太长，等了两个小时",
    "排队排了一上午，时间太长了",
    "大厅排队人太多，等待时间太长",
    "取号以后排队等待了很久",
)
LOGIN = (
    "系统登录不上，试了好几次",
    "系统一直登录不上，页面卡顿",
    "网上系统登录不上，只能跑现场",
    "登录不上系统，客服也没人接",
)


def corpus(planted: tuple[str, ...], seed: int = 7) -> tuple[list[str], list[str]]:
    """300 ordinary comments and 60 bad ones, 25 of which carry the planted complaint."""
    rng = random.Random(seed)
    ordinary = [rng.choice(ORDINARY) for _ in range(300)]
    bad = [rng.choice(BAD_ORDINARY) for _ in range(35)] + [rng.choice(planted) for _ in range(25)]
    rng.shuffle(bad)
    return bad, ordinary + bad


def terms_of(found: list[Theme]) -> list[str]:
    return [t.term for t in found]


def test_tokens_drop_stop_words_punctuation_digits_placeholders_and_single_characters() -> None:
    assert tokens("我的电话[手机号]一直打不通，等了3天！！ 123 ａ") == ["电话", "打不通"]
    assert tokens("身份证号[身份证号]，邮箱[邮箱]") == ["身份证号", "邮箱"]
    assert tokens("系统一直登录不上，页面卡顿") == ["系统", "登录不上", "页面", "卡顿"]
    assert tokens("排队时间太长，等了两个小时") == ["排队", "时间", "小时"]
    assert tokens("") == tokens("12345，。！") == []


@pytest.mark.parametrize(
    ("planted", "expected"),
    [(QUEUE, {"排队", "时间"}), (LOGIN, {"系统", "登录不上"})],
)
def test_planted_themes_rank_first(planted: tuple[str, ...], expected: set[str]) -> None:
    bad, everything = corpus(planted)
    found = themes(bad, everything, top=8)
    assert expected <= set(terms_of(found)[:3]), found
    common = {"办理", "工作人员"}
    assert not common & set(terms_of(found)), found
    first = found[0]
    assert first.bad_docs >= 10
    assert first.share_of_bad == first.bad_docs / len(bad)
    assert first.lift > 1.5 and first.score > 0
    assert first.term in first.example or first.term in first.example.lower()


def test_words_common_everywhere_are_never_themes_even_when_frequent_in_bad() -> None:
    bad, everything = corpus(QUEUE)
    found = themes(bad, everything, top=100, min_docs=1)
    scores = {t.term: t.score for t in found}
    assert "办理" not in scores and "工作人员" not in scores
    # and the planted terms beat every word of the ordinary bad reviews
    planted = {term for text in QUEUE for term in tokens(text)}
    assert min(scores["排队"], scores["时间"]) > max(
        v for k, v in scores.items() if k not in planted
    )


def test_one_comment_does_not_make_a_theme() -> None:
    bad, everything = corpus(QUEUE)
    bad = [*bad, "窗口空调坏了，窗口空调坏了，空调空调空调"]
    assert "空调" not in terms_of(themes(bad, everything, top=50, min_docs=3))
    assert "空调" in terms_of(themes(bad, everything, top=50, min_docs=1))


def test_two_groups_against_one_background() -> None:
    queue_bad, _ = corpus(QUEUE, seed=1)
    login_bad, _ = corpus(LOGIN, seed=2)
    rng = random.Random(3)
    background = Background([rng.choice(ORDINARY) for _ in range(300)] + queue_bad + login_bad)
    queue = terms_of(themes_against(queue_bad, background, top=3))
    login = terms_of(themes_against(login_bad, background, top=3))
    assert {"排队", "时间"} <= set(queue) and not {"系统", "登录不上"} & set(queue)
    assert {"系统", "登录不上"} == set(login[:2]) and "排队" not in login


def test_no_comments_no_themes() -> None:
    assert themes([], ["办理很快"]) == []
    assert themes(["", ""], []) == []
    # a background that lacks the bad comments' terms (a sample) still scores them
    assert terms_of(themes(["系统登录不上"] * 3, ["办理很快"] * 10, min_docs=3))[:2] == [
        "登录不上",
        "系统",
    ]


def test_group_comments_by_department_and_service() -> None:
    rows = [
        ("D1", "民政局", "S1", "婚姻登记", "排队太久"),
        ("D1", "民政局", "S2", "低保申请", "系统登录不上"),
        ("D2", "市场监管局", "S3", "营业执照", "页面卡顿"),
        ("D1", "", "S1", "", ""),
    ]
    departments = group_comments(rows)
    assert departments["D1"].name == "民政局"
    assert departments["D1"].comments == ["排队太久", "系统登录不上"]
    services = group_comments(rows, "service")
    assert set(services) == {"S1", "S2", "S3"}
    assert services["S1"].department_code == "D1" and services["S1"].name == "婚姻登记"


def test_snippet_keeps_the_term_in_view() -> None:
    text = "我想说" + "很多很多" * 20 + "排队时间太长了" + "后面还有" * 10
    cut = snippet(text, "排队", width=30)
    assert "排队" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) == 32
    assert snippet("短评论", "排队") == "短评论"
