import ipaddress
import random

import pytest

from schemas.addresses import ipv4_octets, is_ip_address


def _by_ipaddress(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_dotted_quads_are_read_as_ipaddress_reads_them() -> None:
    rng = random.Random(14)
    octets = ["0", "00", "1", "01", "9", "10", "99", "255", "256", "025", " 1", "+1", "٣", ""]
    for _ in range(20_000):
        text = ".".join(rng.choice(octets) for _ in range(rng.choice((3, 4, 4, 4, 5))))
        assert is_ip_address(text) == _by_ipaddress(text), repr(text)
        # the fast path never takes what ipaddress refuses
        if ipv4_octets(text) is not None:
            assert _by_ipaddress(text), repr(text)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.1.2.3", True),
        ("2001:db8::1", True),
        ("::ffff:1.2.3.4", True),
        ("01.2.3.4", False),
        ("1.2.3", False),
        ("0x1.2.3.4", False),
        ("１.2.3.4", False),
        ("1.2.3.4\x00", False),
        ("1.2.3.\ud800", False),
        ("", False),
    ],
)
def test_what_counts_as_an_address(text: str, address: bool) -> None:
    assert is_ip_address(text) is address
    assert is_ip_address(text) == _by_ipaddress(text)


def test_the_octets_of_an_ipv4_address() -> None:
    assert ipv4_octets("192.168.0.255") == bytes([192, 168, 0, 255])
    assert ipv4_octets("2001:db8::1") is None
