"""The region range is written into the SQL as constants (store.households.code_prefix):
what reaches it must be a string of ASCII digits, checked there again whatever the
callers validated, since nothing else stands between it and the statement's text."""

from __future__ import annotations

import pytest

from store.households import code_prefix
from store.models import Household

# each is ASCII or digits but not both (an `or` in the check would let it through), and
# int() reads all but the last two as a number: only the check stops them
NOT_DIGITS = ("+22", " 22", "2_2", "２２", "٢٢", "22'", "")


@pytest.mark.parametrize("prefix", NOT_DIGITS)
def test_a_prefix_that_is_not_ascii_digits_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="region prefix must be digits"):
        code_prefix(Household.archive_no, prefix)
