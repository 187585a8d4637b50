"""Fuzzing the per-message path of the worker minus Kafka: ``decide`` for every input, then
``rejection_record`` for every rejection, exactly as the worker chains them.

Each corpus below is deterministic (fixed seeds, generated lists); the hypothesis tests are
derandomized and have no deadline, so nothing here depends on luck or on a fast machine.
Every input must end accepted (with bytes that parse back) or rejected with a reason and a
message that quotes nothing of what was sent, and the rejection must make a bounded record.
"""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.simulation import Simulator
from schemas.codes import RejectReason
from schemas.evaluation import Evaluation
from schemas.rejection import RejectedMessage
from streams.ingest.decision import Rejected
from streams.ingest.perimeter import (
    MAX_RECORD_BYTES,
    MAX_REJECTED_RAW_BYTES,
    AcceptedBytes,
    decide,
    rejection_record,
)

NOW: Final = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SECRET: Final = b"fuzz-secret"
SKEW: Final = 300
LATENESS: Final = 3600
MIN_INPUTS: Final = 20_000

# Planted where they do not belong: no message may quote any of them.
ID_NUMBER: Final = "110105194912310021"
# With a valid check digit, so that any scrubber must take it for an ID number: sent as a
# whole JSON string it must not reach the readable copy either (which numbers glued to other
# text count as personal data is the scrubber's business, tested there).
VALID_ID_NUMBER: Final = "11010519491231002X"
PHONE: Final = "13912345678"
PERSONAL: Final = (ID_NUMBER, VALID_ID_NUMBER, PHONE)
WHOLE_PERSONAL: Final = tuple(f'"{value}"' for value in (VALID_ID_NUMBER, PHONE))
MARKER: Final = "PLANTED"
PLANTED: Final = (*PERSONAL, f"{MARKER}-zhangsan", f"沪{MARKER}张三", f"{MARKER}{ID_NUMBER}")

FIELDS: Final = (
    "evaluation_id",
    "transaction_id",
    "evaluation_round",
    "service_code",
    "service_name",
    "department_code",
    "department_name",
    "region_code",
    "channel",
    "level",
    "tags",
    "comment",
    "scores",
    "evaluator_id",
    "evaluator_type",
    "hall_code",
    "window_code",
    "staff_id",
    "evaluated_at",
    "source",
)
STRING_FIELDS: Final = (
    "evaluation_id",
    "transaction_id",
    "service_code",
    "service_name",
    "department_code",
    "department_name",
    "region_code",
    "channel",
    "comment",
    "evaluator_id",
    "hall_code",
    "window_code",
    "staff_id",
    "evaluated_at",
    "source",
)
INT_FIELDS: Final = ("evaluation_round", "level", "evaluator_type", "channel")


def valid() -> dict[str, Any]:
    return {
        "evaluation_id": "E20261128000001",
        "transaction_id": "T310101202611280001",
        "evaluation_round": 1,
        "service_code": "11310000002421213T3310117002000",
        "service_name": "居民身份证换领",
        "department_code": "SH-GA-001",
        "department_name": "上海市公安局",
        "region_code": "310101",
        "channel": "counter",
        "level": 1,
        "tags": ["115", "113"],
        "comment": f"等了两小时，电话 {PHONE}，请回电",
        "scores": {"usability": 1, "attitude": 2},
        "evaluator_id": "U-ZHANGSAN-0001",
        "evaluator_type": 1,
        "hall_code": "H01",
        "window_code": "W03",
        "staff_id": "S009",
        "evaluated_at": "2026-11-28T10:15:00+08:00",
        "source": "fuzz",
    }


def encode(doc: Any, *, ensure_ascii: bool = False) -> bytes:
    # surrogatepass and allow_nan: produce exactly the bytes a careless producer could send.
    text = json.dumps(doc, ensure_ascii=ensure_ascii, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def with_(**changes: Any) -> dict[str, Any]:
    return valid() | changes


# --- the path under test -------------------------------------------------------------------

OUTCOMES: Counter[str] = Counter()
FALLBACKS: Counter[str] = Counter()
CORPORA_RUN: set[str] = set()


def exercise(raw: Any, offset: int = 0, *, structured: bool = True) -> str:
    """One input through decide and, when rejected, rejection_record; the outcome's name.

    ``structured``: a planted personal value sent as a whole JSON string must not survive into
    the readable copy. Cut or mutated bytes can turn one into a different, longer number, which
    is rightly not taken for a phone or ID number, so they are not checked for it.
    """
    outcome = decide(raw, now=NOW, secret=SECRET, clock_skew_s=SKEW, allowed_lateness_s=LATENESS)
    if isinstance(outcome, AcceptedBytes):
        json.loads(outcome.value)
        assert Evaluation.from_json_bytes(outcome.value) == outcome.evaluation
        OUTCOMES["accepted"] += 1
        return "accepted"

    assert isinstance(outcome, Rejected), outcome
    assert isinstance(outcome.reason, RejectReason)
    assert isinstance(outcome.message, str) and outcome.message
    # check() has no known bug: an internal error here is a finding, not an outcome.
    assert outcome.reason is not RejectReason.INTERNAL_ERROR, outcome.message
    assert_quotes_nothing(outcome.message)

    data = rejection_record(
        raw,
        reason=outcome.reason,
        message=outcome.message,
        source_topic="ratings.raw",
        source_partition=5,
        source_offset=offset,
        rejected_at=NOW,
        secret=SECRET,
    )
    assert len(data) <= MAX_RECORD_BYTES
    back = RejectedMessage.from_json_bytes(data)
    original = bytes(raw) if raw is not None else b""
    assert back.raw_size == len(original)
    assert back.raw_truncated is (len(original) > MAX_REJECTED_RAW_BYTES)
    assert base64.b64decode(back.raw_base64) == original[:MAX_REJECTED_RAW_BYTES]
    assert (back.source_partition, back.source_offset) == (5, offset)
    assert_quotes_nothing(back.message)
    if structured and back.raw_scrubbed:
        text = original.decode("utf-8", "replace")
        for whole in WHOLE_PERSONAL:
            if whole in text:
                assert whole not in back.raw_scrubbed
    if back.reason is RejectReason.INTERNAL_ERROR:
        # The scrubber failed (e.g. RecursionError on deep nesting): the record says so and
        # keeps what check() decided in its message.
        assert back.raw_scrubbed == ""
        assert outcome.reason.value in back.message
        FALLBACKS[f"{outcome.reason.value} -> internal_error"] += 1
    else:
        assert back.reason is outcome.reason
        assert back.message == outcome.message
    OUTCOMES[outcome.reason.value] += 1
    return outcome.reason.value


def assert_quotes_nothing(message: str) -> None:
    assert MARKER not in message, message
    for value in PERSONAL:
        assert value not in message, message


# --- deterministic corpora -----------------------------------------------------------------


def simulator_messages() -> list[bytes]:
    valid_ones = [m.value for m in Simulator(seed=3).stream(40) if m.kind == "valid"][:20]
    malformed = [m.value for m in Simulator(seed=4).stream(60, scenario="malformed")]
    escaped = [encode(json.loads(v), ensure_ascii=True) for v in valid_ones[:10]]
    return [*valid_ones, *escaped, *malformed, encode(valid()), encode(valid(), ensure_ascii=True)]


def truncations() -> Iterator[bytes]:
    # Every prefix of real messages: mid-key, mid-number, mid-escape, mid-UTF-8 character.
    sources = [*simulator_messages()[:30], encode(valid()), encode(valid(), ensure_ascii=True)]
    for raw in sources:
        for end in range(len(raw) + 1):
            yield raw[:end]
        # And what the cut leaves behind: a suffix, or a message with a hole.
        for start in range(1, len(raw), 7):
            yield raw[start:]
            yield raw[: start // 2] + raw[start:]


def random_bytes() -> Iterator[bytes]:
    rng = random.Random(20261128)
    alphabet = b'{}[]":,0123456789.eE+-truefalsn \\u\t\n'
    for n in range(3000):
        size = rng.choice((1, 2, 3, 8, 40, 300, 2000))
        if n % 2:
            yield rng.randbytes(size)
        else:
            yield bytes(rng.choice(alphabet) for _ in range(size))


def mutations() -> Iterator[bytes]:
    rng = random.Random(7)
    sources = simulator_messages()
    for _ in range(3000):
        raw = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(raw) + 1)
            action = rng.randrange(5)
            if action == 0 and raw:
                raw[min(where, len(raw) - 1)] ^= 1 << rng.randrange(8)
            elif action == 1:
                raw[where:where] = rng.randbytes(rng.randint(1, 4))
            elif action == 2:
                del raw[where : where + rng.randint(1, 8)]
            elif action == 3:
                raw[where:where] = rng.choice(
                    [b'"', b"\\", b"\\u", b"\\ud800", b"\x00", b"\xed\xa0\x80", b"{", b"]", b","]
                )
            else:
                other = rng.choice(sources)
                raw[where:] = other[rng.randrange(len(other)) :]
        yield bytes(raw)


def nesting() -> Iterator[bytes]:
    for depth in (1, 2, 100, 199, 200, 201, 1000, 10_000, 100_000):
        for opening, closing in (("[", "]"), ('{"a":', "}")):
            yield (opening * depth).encode()
            yield (opening * depth + "0" + closing * depth).encode()
            inner = opening * depth + "0" + closing * depth
            for field in ("tags", "scores", "comment", "level", "extra"):
                doc = encode(with_(**{field: "<>"}))
                yield doc.replace(b'"<>"', inner.encode())
    yield b"[" * 100_000 + b"]" * 99_999
    yield b'{"a":[' * 50_000


SURROGATES: Final = (
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    "a\ud800",
    "\ud800b",
    "x\udc00y",
    "\ud800\ud800",
    "\udc00\ud800",
    "\ud83d",  # the first half of an emoji
    "好\ude00",
)


def lone_surrogates() -> Iterator[bytes]:
    for text in SURROGATES:
        for ensure_ascii in (True, False):
            for field in STRING_FIELDS:
                yield encode(with_(**{field: text}), ensure_ascii=ensure_ascii)
                yield encode(
                    with_(**{field: f"{PHONE}{text}{ID_NUMBER}"}), ensure_ascii=ensure_ascii
                )
            yield encode(with_(tags=[text]), ensure_ascii=ensure_ascii)
            yield encode(with_(scores={text: 1}), ensure_ascii=ensure_ascii)
            yield encode(with_(**{text: "x"}), ensure_ascii=ensure_ascii)
            yield encode(with_(extra=text), ensure_ascii=ensure_ascii)
            yield encode(with_(extra={"nested": [text]}), ensure_ascii=ensure_ascii)
    # A correct pair is one character and must pass.
    yield encode(with_(comment="好评\U0001f600"), ensure_ascii=True)


HUGE_NUMBERS: Final = (
    "1" + "0" * 400,
    "-1" + "0" * 400,
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "-0.0",
    "-0",
    "0.0",
    "5.0",
    "4.999999999999999999999",
    "1E1",
    "NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "inf",
    "01",
    "+1",
    ".5",
    "5.",
    "0x5",
    "1_000",
    "２",
)


def numbers() -> Iterator[bytes]:
    template = encode(with_(**{"probe": "<>"}))
    for number in HUGE_NUMBERS:
        for field in (*FIELDS, "probe"):
            doc = encode(with_(**{field: "<>"}))
            yield doc.replace(b'"<>"', number.encode())
        yield encode(with_(scores={"attitude": "<>"})).replace(b'"<>"', number.encode())
        yield encode(with_(tags=["<>"])).replace(b'"<>"', number.encode())
        yield template.replace(b'"<>"', f"[{number}]".encode())
    for value in (float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 10**400, -(10**400)):
        for field in FIELDS:
            yield encode(with_(**{field: value}))


TIMESTAMPS: Final = (
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00-23:59",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59+23:59",
    "9999-12-31T23:59:59.999999Z",
    "2026-11-28T10:15:00+23:59",
    "2026-11-28T10:15:00-23:59",
    "2026-11-28T10:15:00+24:00",
    "2026-11-28T10:15:00-24:00",
    "2026-11-28T10:15:00+08:60",
    "2026-11-28T23:59:60+08:00",
    "2016-12-31T23:59:60Z",
    "2026-11-28T24:00:00+08:00",
    "2026-11-28T10:15:00+08",
    "2026-11-28T10:15:00+0800",
    "2026-11-28T10:15:00 +08:00",
    "2026-11-28 10:15:00+08:00",
    "2026-11-28t10:15:00z",
    "2026-11-28T10:15:00-00:00",
    "2026-11-28T10:15:00.123456789+08:00",
    "2026-11-28T10:15:00,5+08:00",
    "2026-11-28T10:15+08:00",
    "2026-11-28T10+08:00",
    "2026-11-28T10:15:00",
    "2026-11-28",
    "2026-02-29T10:15:00+08:00",
    "2024-02-29T10:15:00+08:00",
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-W48-6T10:15:00Z",
    "2026-332T10:15:00Z",
    "20261128T101500+0800",
    "+2026-11-28T10:15:00Z",
    "-0001-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00Z",
    "2000-01-01T07:59:59+08:00",
    "2100-01-01T00:00:00Z",
    "Sat, 28 Nov 2026 10:15:00 +0800",
    "2026/11/28 10:15:00",
    "28/11/2026 10:15",
    "1764296100",
    "1764296100000",
    "now",
    "yesterday",
    "",
    " ",
    "２０２６-11-28T10:15:00Z",
    "2026-11-28T10:15:00Z\x00",
    "2026-11-28T10:15:00Z ",
    " 2026-11-28T10:15:00Z",
    "\ufeff2026-11-28T10:15:00Z",
)


def timestamps() -> Iterator[bytes]:
    for stamp in TIMESTAMPS:
        yield encode(with_(evaluated_at=stamp))
        yield encode(with_(evaluated_at=stamp), ensure_ascii=True)
    for number in (0, -1, 1764296100, 1764296100000, 2**63, 1.5, 10**400):
        yield encode(with_(evaluated_at=number))


LIMITS: Final = {
    "evaluation_id": 64,
    "transaction_id": 50,
    "service_code": 128,
    "service_name": 256,
    "department_code": 128,
    "department_name": 256,
    "comment": 2000,
    "evaluator_id": 128,
    "hall_code": 128,
    "window_code": 128,
    "staff_id": 128,
    "source": 128,
}


def oversized() -> Iterator[bytes]:
    for field, limit in LIMITS.items():
        for size in (limit - 1, limit, limit + 1, limit * 10):
            for char in ("x", "好", "\U0001f600"):
                yield encode(with_(**{field: char * size}))
    yield encode(with_(comment="x" * 1_000_000))
    yield encode(with_(comment="好" * 1_000_000))
    yield encode(with_(comment="\x01" * 200_000))
    yield encode(with_(evaluation_id="E" * 65))
    yield encode(with_(region_code="1" * 13))
    yield encode(with_(region_code="1" * 5))
    yield encode(with_(tags=["115"] * 10_000))
    yield encode(with_(scores={f"k{i}": 1 for i in range(2_000)}))
    yield encode(with_(extra="x" * 900_000))
    yield encode(with_(**{f"extra{i}": i for i in range(20_000)}))


WRONG_VALUES: Final[tuple[Any, ...]] = (
    None,
    True,
    False,
    0,
    -1,
    7,
    1.5,
    "",
    " ",
    "\t\n",
    "x",
    "5",
    "1.0",
    "web",
    "115",
    [],
    [1],
    ["115"],
    {},
    {"a": 1},
    {"attitude": 5},
    [[[]]],
    *PLANTED,
    [ID_NUMBER],
    {ID_NUMBER: PHONE},
    {"attitude": ID_NUMBER},
    [f"{MARKER}-in-a-list", 1],
)


def wrong_types() -> Iterator[bytes]:
    for field in FIELDS:
        for value in WRONG_VALUES:
            yield encode(with_(**{field: value}))
        doc = valid()
        del doc[field]
        yield encode(doc)
    for value in WRONG_VALUES:
        yield encode(value)
        yield encode([valid(), value])
        yield encode({"evaluation": valid(), "x": value})


def duplicate_keys() -> Iterator[bytes]:
    base = encode(valid())[:-1]
    for field in FIELDS:
        for value in ('"<wrong>"', "null", "9", f'"{ID_NUMBER}"', "[]", "{}"):
            yield base + f', "{field}": {value}}}'.encode()
            yield b"{" + f'"{field}": {value}, '.encode() + base[1:] + b"}"
    yield base + b', "level": 5, "level": 1, "level": 9}'


BOMS: Final = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")


def boms_and_encodings() -> Iterator[bytes]:
    text = json.dumps(valid(), ensure_ascii=False)
    raw = text.encode()
    for bom in BOMS:
        yield bom + raw
        yield raw + bom
        yield raw[:40] + bom + raw[40:]
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig", "gbk", "gb18030"):
        yield text.encode(codec)
    yield encode(with_(comment="\ufeff好评"))
    yield encode(with_(evaluation_id="\ufeffE1"))


INVALID_UTF8: Final = (
    b"\x80",
    b"\xbf",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xc3",
    b"\xe4\xb8",
    b"\xe0\x80\x80",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf0\x80\x80\x80",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xfc\x84\x80\x80\x80\x80",
    b"\xfe",
    b"\xff",
)


def nuls_and_invalid_utf8() -> Iterator[bytes]:
    raw = encode(valid())
    for junk in (b"\x00", *INVALID_UTF8):
        yield junk
        yield junk + raw
        yield raw + junk
        yield raw[:20] + junk + raw[20:]
        for field in STRING_FIELDS:
            marked = encode(with_(**{field: "<>"}))
            yield marked.replace(b"<>", junk)
            yield marked.replace(b"<>", b"a" + junk + ID_NUMBER.encode())
    yield b"\x00" * 100
    yield encode(with_(comment="a\x00b"))
    yield encode(with_(comment="a\x00b")).replace(b"\\u0000", b"\x00")
    yield encode(with_(evaluation_id="\x00"))


def empties() -> Iterator[Any]:
    raw = encode(valid())
    yield from (None, b"", b" ", b"\n", b"\t\r\n ", b"null", b"{}", b"[]", b'""', b"0", b"true")
    yield from (b"{", b"}", b"[", b'"', b"\\", b"{,}", b'{"":""}', b'{"a"}', b"{}{}", raw + raw)
    yield bytearray(raw)
    yield memoryview(raw)
    yield bytearray()


CORPORA: Final[dict[str, Callable[[], Iterator[Any]]]] = {
    "truncations": truncations,
    "random_bytes": random_bytes,
    "mutations": mutations,
    "nesting": nesting,
    "lone_surrogates": lone_surrogates,
    "numbers": numbers,
    "timestamps": timestamps,
    "oversized": oversized,
    "wrong_types": wrong_types,
    "duplicate_keys": duplicate_keys,
    "boms_and_encodings": boms_and_encodings,
    "nuls_and_invalid_utf8": nuls_and_invalid_utf8,
    "empties": empties,
}


UNSTRUCTURED: Final = frozenset({"truncations", "random_bytes", "mutations"})


@pytest.mark.parametrize("name", list(CORPORA))
def test_corpus(name: str) -> None:
    seen: Counter[str] = Counter()
    structured = name not in UNSTRUCTURED
    for offset, raw in enumerate(CORPORA[name]()):
        try:
            seen[exercise(raw, offset, structured=structured)] += 1
        except AssertionError as exc:
            shown = repr(bytes(raw)[:200]) if raw is not None else "None"
            raise AssertionError(f"{name} #{offset} {shown}: {exc}") from exc
    assert sum(seen.values()) > 0
    CORPORA_RUN.add(name)
    print(f"{name}: {sum(seen.values())} inputs, {dict(seen.most_common())}")


def test_corpora_reach_what_they_aim_at() -> None:
    # The corpora are only worth their time if they reach the outcomes they were written for.
    def reasons(name: str) -> set[str]:
        out = set()
        for raw in CORPORA[name]():
            result = decide(
                raw, now=NOW, secret=SECRET, clock_skew_s=SKEW, allowed_lateness_s=LATENESS
            )
            out.add("accepted" if isinstance(result, AcceptedBytes) else result.reason.value)
        return out

    assert {"accepted", "not_json", "not_utf8"} <= reasons("truncations")
    assert {"accepted", "not_json", "not_utf8"} <= reasons("lone_surrogates")
    assert {"invalid_timestamp", "naive_timestamp", "future_event", "accepted"} <= reasons(
        "timestamps"
    )
    assert {"field_too_long", "accepted", "invalid_region_code"} <= reasons("oversized")
    assert {"invalid_field", "missing_field", "invalid_level", "unknown_channel"} <= reasons(
        "wrong_types"
    )


# --- hypothesis ------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=1500,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

surrogate_text = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
texts = st.one_of(
    st.text(max_size=30),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), surrogate_text, st.text(max_size=5)),
    st.sampled_from(PLANTED),
    st.sampled_from(TIMESTAMPS),
    st.sampled_from(["115", "510", "web", "7", "310101", "attitude", "", " "]),
    st.integers(0, 3000).map(lambda n: "x" * n),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64, 1, 2, 5]),
    st.floats(),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    doc = valid()
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.integers(0, 3)) == 0:
            doc.pop(field, None)
        else:
            doc[field] = draw(json_values)
    if draw(st.booleans()):
        doc[draw(texts)] = draw(json_values)
    return doc


HYPOTHESIS_RUNS: Counter[str] = Counter()


@FUZZ
@given(near_valid(), st.booleans())
def test_near_valid_documents(doc: dict[str, Any], ensure_ascii: bool) -> None:
    HYPOTHESIS_RUNS["near_valid"] += 1
    exercise(encode(doc, ensure_ascii=ensure_ascii))


@FUZZ
@given(json_values, st.booleans())
def test_arbitrary_json(value: Any, ensure_ascii: bool) -> None:
    HYPOTHESIS_RUNS["arbitrary_json"] += 1
    exercise(encode(value, ensure_ascii=ensure_ascii))


BASE_RAW: Final = encode(valid())


@FUZZ
@given(st.integers(0, len(BASE_RAW)), st.integers(0, 16), st.binary(max_size=16))
def test_spliced_bytes(at: int, cut: int, insert: bytes) -> None:
    HYPOTHESIS_RUNS["spliced_bytes"] += 1
    exercise(BASE_RAW[:at] + insert + BASE_RAW[at + cut :], structured=False)


@FUZZ
@given(st.binary(max_size=500))
def test_arbitrary_bytes(raw: bytes) -> None:
    HYPOTHESIS_RUNS["arbitrary_bytes"] += 1
    exercise(raw, structured=False)


def test_total_inputs_run() -> None:
    # Last in the file: the count is only meaningful when every corpus above has run.
    if set(CORPORA) != CORPORA_RUN:
        pytest.skip("run the whole file to count the inputs")
    total = sum(OUTCOMES.values())
    print(
        f"\nfuzz: {total} inputs ({sum(HYPOTHESIS_RUNS.values())} from hypothesis: "
        f"{dict(HYPOTHESIS_RUNS)})\n"
        f"outcomes: {dict(OUTCOMES.most_common())}\n"
        f"records that fell back to internal_error: {dict(FALLBACKS)}"
    )
    assert total >= MIN_INPUTS
