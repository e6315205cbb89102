"""Every shared conformance vector: Python client → Python server, over inproc, unix and shm."""

import pytest

import hms_ffi
from vectors import SKIPS, check, check_semantic, load_cases, load_semantic_cases

CASES = load_cases()


def test_all_vectors_loaded() -> None:
    assert len(CASES) >= 200
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("transport", ["inproc", "unix", "shm"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vector(case, transport, conformance_pair) -> None:
    check(case, conformance_pair[transport])


SEMANTICS = load_semantic_cases()
PY_SKIPS = SKIPS.get("python", {})


def test_every_semantic_skip_has_a_reason() -> None:
    names = {c.name for c in SEMANTICS}
    for lang, roles in SKIPS.items():
        for role, cases in roles.items():
            for name, reason in cases.items():
                assert name in names, f"{lang} {role} skips unknown case {name}"
                assert reason.strip(), f"{lang} {role} skips {name} without a reason"


@pytest.mark.parametrize("transport", ["inproc", "unix", "grpc", "http", "ws"])
@pytest.mark.parametrize("case", SEMANTICS, ids=[c.id for c in SEMANTICS])
def test_semantic_case(case, transport, semantics_server) -> None:
    """Call semantics, Python client → Python server, on every transport."""
    if case.name in PY_SKIPS.get("client", {}) or case.name in PY_SKIPS.get("server", {}):
        pytest.skip(PY_SKIPS.get("client", {}).get(case.name) or PY_SKIPS["server"][case.name])
    check_semantic(case, hms_ffi.connect(semantics_server[transport]))
