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


SOURCE_DIRS = ("assets", "sql", "pipelines", "tests", "docs", "bench", "expectations", "notebooks", ".ci")


def _cited(text: str) -> set[str]:
    """Paths in backticks or markdown links: `assets/reference/x.csv`, [..](docs/contract.md)."""
    import re

    found = set(re.findall(r"`([^`\s<>*{}]+)`", text)) | set(re.findall(r"\]\(([^)\s]+)\)", text))
    return {f.rstrip("/") for f in found if "/" in f or re.search(r"\.(csv|md|sql|json|xml|py|yml|yaml|toml)$", f)}


def test_every_file_the_readme_or_a_sources_file_cites_is_in_the_repository():
    import re

    """Repository paths the README cites exist; a SOURCES.md's files exist beside it (or in the
    repository), except the one it says is cited only by its public source."""
    readme = {p for p in _cited((REPO / "README.md").read_text()) if p.split("/")[0] in SOURCE_DIRS}
    missing = sorted(p for p in readme if not (REPO / p).exists())
    for sources in [REPO / "assets" / "reference" / "SOURCES.md", REPO / "assets" / "reference" / "bwt_snapshots" / "SOURCES.md"]:
        for p in _cited(sources.read_text()):
            if not re.search(r"\.(csv|xml|json|parquet|md)$", p) or p.startswith("../shared/") or p == "bwt.xml":
                continue  # prose (`N/A`, landing folders), the contract's workplace paths, the feed's own name
            if (sources.parent / p).exists() or (REPO / p).exists() or (REPO / "tests" / "fixtures" / "bwt" / p).exists():
                continue
            missing.append(f"{sources.relative_to(REPO)}: {p}")
    assert missing == []
