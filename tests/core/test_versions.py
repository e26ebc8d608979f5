"""One reading of Kubernetes versions: every spelling of a minor compares as that minor."""

from __future__ import annotations

import pytest

from ekslift.errors import InputError
from ekslift.versions import minor_distance, minor_text, next_minor, parse_minor


@pytest.mark.parametrize("text", ["1.30", "v1.30", "1.30.9", "v1.30.9-eks-5e0fdde", " 1.30 "])
def test_every_spelling_of_a_minor_reads_as_it(text: str) -> None:
    assert minor_text(parse_minor(text)) == "1.30"


def test_distance_and_next() -> None:
    assert minor_distance("1.34", "v1.30.2") == 4
    assert minor_distance("1.30", "1.34") == -4
    assert next_minor("v1.33.5-eks-1") == "1.34"


@pytest.mark.parametrize("text", ["1.30.1", "v1.30.0-eks-1", "one.thirty", "1", ""])
def test_strict_accepts_only_a_minor(text: str) -> None:
    with pytest.raises(InputError, match=r"minor version such as '1\.34'"):
        parse_minor(text, strict=True)


def test_garbage_is_an_input_error_naming_the_text() -> None:
    with pytest.raises(InputError, match="'banana'"):
        parse_minor("banana")
