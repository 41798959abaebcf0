"""The vendored CDNOW files (tests/data/cdnow/, found through tests/cdnow_data.py) are the published
ones: their SHA-256 digests are those of ``lifetimes/datasets/`` in the Lifetimes 0.11.3 wheel, checked
on every run; where the project's reference copy ``../shared/data/cdnow/`` sits beside the repository,
they are also compared with it byte for byte (skipped, naming that path, elsewhere)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cdnow_data import CDNOW_DIR, FILES, cdnow_file

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "cdnow"
# the digests of the files in Lifetimes-0.11.3-py3-none-any.whl (lifetimes/datasets/), as the README lists them
SHA256 = {
    "CDNOW_master.txt": "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
    "CDNOW_sample.txt": "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
    "cdnow_customers_summary.csv": "09d92ca80daaabe8be0f997d4c539f9c9606106baa5b199081fe01cbce5fa9f6",
}


@pytest.mark.parametrize("name", FILES)
def test_vendored_file_has_the_published_digest(name: str) -> None:
    # a changed byte (an end-of-line conversion on checkout, an edit) would change every figure derived from it
    assert hashlib.sha256(cdnow_file(name).read_bytes()).hexdigest() == SHA256[name]


@pytest.mark.parametrize("name", FILES)
def test_vendored_file_is_the_shared_one(name: str) -> None:
    shared = SHARED / name
    if not shared.is_file():
        pytest.skip(f"no reference copy beside the repository: {shared}")
    assert cdnow_file(name).read_bytes() == shared.read_bytes()


def test_readme_lists_the_digests_and_carries_the_licence() -> None:
    readme = (CDNOW_DIR / "README.md").read_text(encoding="utf-8")
    for name, digest in SHA256.items():
        assert f"| `{name}` | {(CDNOW_DIR / name).stat().st_size:,} | `{digest}` |" in readme
    # MIT: the copyright notice and the permission notice travel with every copy
    assert "Copyright (c) 2015, Cameron Davidson-Pilon" in readme
    assert "The above copyright notice and this permission notice shall be included in all" in readme


def test_only_the_vendored_files_resolve() -> None:
    with pytest.raises(ValueError, match="not a vendored CDNOW file"):
        cdnow_file("CDNOW_master.txt.gz")
    assert {p.name for p in CDNOW_DIR.iterdir()} == {*FILES, "README.md"}
