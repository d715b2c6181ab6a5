"""The binding data contract travels with the repository: docs/contract.md is byte-identical to
../shared/contract.md wherever that exists (the workplace that binds this project)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BINDING = REPO.parent / "shared" / "contract.md"


def test_the_contract_in_the_repository_is_the_binding_one():
    if not BINDING.exists():
        pytest.skip(f"{BINDING} does not exist here: the copy in docs/ is all a clone has")
    assert (REPO / "docs" / "contract.md").read_bytes() == BINDING.read_bytes()
