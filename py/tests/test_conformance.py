"""Every shared conformance vector: Python client → Python server, over inproc and unix."""

import pytest

from vectors import check, load_cases

CASES = load_cases()


def test_all_vectors_loaded() -> None:
    assert len(CASES) >= 200
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("transport", ["inproc", "unix"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vector(case, transport, conformance_pair) -> None:
    check(case, conformance_pair[transport])
