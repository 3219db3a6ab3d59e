"""The credit-code check character and the phone normaliser, as properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from service.directory.credit_code import ALPHABET, check_character, is_valid
from service.validation import Phone

prefixes = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@given(prefixes)
def test_the_computed_check_character_validates(prefix):
    assert is_valid(prefix + check_character(prefix))


@given(prefixes, st.sampled_from(ALPHABET))
def test_any_other_check_character_fails(prefix, last):
    if last != check_character(prefix):
        assert not is_valid(prefix + last)


@given(prefixes, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_a_single_changed_character_is_caught(prefix, position, replacement):
    code = prefix + check_character(prefix)
    changed = code[:position] + replacement + code[position + 1 :]
    if changed != code:
        assert not is_valid(changed)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_published_codes(code):
    assert is_valid(code)


phone = TypeAdapter(Phone)


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "0086", "+86 "])
)
def test_mobile_numbers_normalise_to_eleven_digits(number, prefix):
    spaced = f"{prefix}{number[:3]} {number[3:7]}-{number[7:]}"
    assert phone.validate_python(spaced) == number
    assert phone.validate_python(number) == number


@given(st.text(max_size=20))
def test_anything_else_either_normalises_or_is_refused(value):
    try:
        result = phone.validate_python(value)
    except ValidationError:
        return
    assert result.isdigit() and phone.validate_python(result) == result
