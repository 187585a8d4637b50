from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.scrub import PLACEHOLDERS, pseudonymize, scrub_text


@pytest.mark.parametrize(
    ("text", "secret", "placeholder"),
    [
        ("我的手机13812345678，请回电", "13812345678", "[手机号]"),
        ("联系我：+86 139-1234-5678 谢谢", "139-1234-5678", "[手机号]"),
        ("联系我：+8615912345678", "15912345678", "[手机号]"),
        ("手机 86-188 1234 5678", "188 1234 5678", "[手机号]"),
        ("(+86)17712345678", "17712345678", "[手机号]"),
        ("电话１３８１２３４５６７８找王科长", "１３８１２３４５６７８", "[手机号]"),
        ("请打021-12345678找我", "12345678", "[电话]"),
        ("请打(021)12345678找我", "12345678", "[电话]"),
        ("请打（0571）8888888", "8888888", "[电话]"),
        ("窗口电话0571-8888888转123", "8888888", "[电话]"),
        ("办公电话：87654321", "87654321", "[电话]"),
        ("身份证号110101199003071234已核验", "110101199003071234", "[身份证号]"),
        ("身份证31011519851231002X", "31011519851231002X", "[身份证号]"),
        ("身份证31011519851231002x号", "31011519851231002x", "[身份证号]"),
        ("邮箱 zhang.san+gov@example.com.cn 收到了", "zhang.san+gov@example.com.cn", "[邮箱]"),
        ("发到13812345678@qq.com吧", "13812345678", "[邮箱]"),
        ("退款到卡号6222021234567890123", "6222021234567890123", "[银行卡号]"),
        ("卡号 6222 0212 3456 7890 退款", "6222 0212 3456 7890", "[银行卡号]"),
        ("卡号6217-0012-3456-7890-123", "6217-0012-3456-7890", "[银行卡号]"),
    ],
)
def test_personal_data_disappears(text: str, secret: str, placeholder: str) -> None:
    out = scrub_text(text)
    assert secret not in out
    assert placeholder in out


def test_several_kinds_in_one_comment() -> None:
    text = (
        "我叫张三，身份证110101199003071234，手机13812345678，"
        "邮箱zs@163.com，座机021-62345678，卡号6222021234567890，办理很慢。"
    )
    out = scrub_text(text)
    for gone in ("110101199003071234", "13812345678", "zs@163.com", "62345678", "6222021234567890"):
        assert gone not in out
    for placeholder in PLACEHOLDERS:
        assert placeholder in out
    assert out.startswith("我叫张三，") and out.endswith("办理很慢。")


def test_id_number_is_not_labelled_as_phone() -> None:
    assert scrub_text("110101199003071234") == "[身份证号]"
    assert scrub_text("6222021234567890") == "[银行卡号]"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28 上午办理，等了15分钟",
        "2026年11月28日10:15在3号窗口办理",
        "拨打12345热线反映，事项编号2026112800012",
        "排队号A023，材料3份，费用0元",
        "评分5分，100%满意",
        "日期20261128，版本1.2.3",
        "服务很好，非常满意！",
        "",
        "IP 192.168.1.10",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert scrub_text(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="0123456789０１２３４５６７８９@")))
def test_text_without_digits_or_at_is_untouched(text: str) -> None:
    assert scrub_text(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_scrub_never_raises_and_is_idempotent(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


def test_scrub_is_fast_on_adversarial_input() -> None:
    texts = ["a" * 2000, "1" * 2000, "1-" * 1000, "a." * 1000 + "@", "a@" * 1000, "(0" * 1000]
    start = time.perf_counter()
    for text in texts:
        scrub_text(text)
    assert time.perf_counter() - start < 0.5


def test_pseudonymize_is_stable_and_keyed() -> None:
    a = pseudonymize("U0001", b"k1")
    assert a == pseudonymize("U0001", b"k1")
    assert len(a) == 64 and int(a, 16) >= 0
    assert a != pseudonymize("U0001", b"k2")
    assert a != pseudonymize("U0002", b"k1")
    assert "U0001" not in a


def test_pseudonymize_matches_hmac_sha256() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"secret", "张三".encode(), hashlib.sha256).hexdigest()
    assert pseudonymize("张三", b"secret") == expected


def test_pseudonymize_survives_lone_surrogates() -> None:
    assert len(pseudonymize("\ud800x", b"k")) == 64
