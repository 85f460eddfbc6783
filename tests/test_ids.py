"""activity.ids.fit: identities fit a length without ever being cut into a shared form."""

from __future__ import annotations

import hashlib

from hypothesis import example, given
from hypothesis import strategies as st

from activity.ids import HASH_CHARS, fit

LIMIT = 64
IDS = st.text(min_size=1, max_size=3 * LIMIT) | st.text("ab~0123456789abcdef", max_size=2 * LIMIT)


def test_short_ids_are_kept_and_long_ones_become_prefix_and_hash() -> None:
    assert fit("C-42", LIMIT) == "C-42"
    long = "x" * 100
    digest = hashlib.sha256(long.encode()).hexdigest()[:HASH_CHARS]
    assert fit(long, LIMIT) == "x" * (LIMIT - HASH_CHARS - 1) + "~" + digest


def test_an_id_shaped_like_a_hashed_one_is_hashed_too() -> None:
    hashed = fit("y" * 100, LIMIT)
    assert len(hashed) == LIMIT and fit(hashed, LIMIT) != hashed


@given(IDS, IDS)
@example("a" * LIMIT + "1", "a" * LIMIT + "2")  # differ only after the limit
@example("z" * 100, fit("z" * 100, LIMIT))  # an id equal to another's hashed form
def test_different_ids_never_share_a_fitted_form(one: str, other: str) -> None:
    assert (fit(one, LIMIT) == fit(other, LIMIT)) == (one == other)


@given(IDS)
def test_fitted_ids_fit_and_keep_what_fits(identity: str) -> None:
    fitted = fit(identity, LIMIT)
    assert len(fitted) <= LIMIT
    assert fitted == identity or len(fitted) == LIMIT
    assert fitted.startswith(identity[: LIMIT - HASH_CHARS - 1])
