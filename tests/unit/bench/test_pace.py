from tests.bench.pace import paces


def test_each_probe_is_put_against_the_fastest_of_the_run() -> None:
    assert paces({"c": 0.20, "a": 0.30, "b": 0.25}) == "c 1.00×, a 1.50×, b 1.25×"
