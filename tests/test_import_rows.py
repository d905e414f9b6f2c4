"""A CSV cell becomes a deal value by its field's type alone, never by YAML resolution:
the forms YAML 1.1 reads as numbers or booleans stay text, and are no number either."""
from __future__ import annotations

import pytest
import yaml

from flowctl.import_rows import convert, dump
from flowctl.yamlio import parse

# Cells YAML 1.1 would read as something else than the text: octal, base 60, binary,
# hexadecimal, digit separators, booleans, null, special floats, dates.
YAML11_FORMS = ["010", "-007", "0o17", "1:30:00", "190:20:30.15", "0b1011", "0x1F", "1_000", "1__0",
                "yes", "No", "on", "OFF", "y", "n", "~", "null", "Null", ".inf", "-.Inf", ".nan", "2017-01-02"]


@pytest.mark.parametrize("cell", YAML11_FORMS)
def test_a_text_cell_stays_the_text_written_and_survives_the_deal_file(cell):
    assert convert(cell, "string") == cell
    deal = {"id": cell, "account": cell}
    assert parse(dump(deal, "export.csv", 2), "D.yaml") == deal  # the dump quotes what YAML would resolve


@pytest.mark.parametrize("cell", [c for c in YAML11_FORMS if not c.lstrip("-").isdigit()])
@pytest.mark.parametrize("kind", ["number", "integer"])
def test_a_yaml11_number_form_is_no_number(cell, kind):
    with pytest.raises(ValueError, match="is not a number|is not a finite number"):
        convert(cell, kind)


@pytest.mark.parametrize("cell, number", [("010", 10), ("-007", -7), ("0010.50", 10.5), ("1,000", 1000)])
def test_leading_zeros_are_decimal_not_octal(cell, number):
    assert convert(cell, "number") == number


@pytest.mark.parametrize("cell", ["1:30:00", "0b11", "yes", "~", "010x"])
def test_a_yaml11_form_in_a_date_cell_is_no_date(cell):
    with pytest.raises(ValueError, match="is not a date"):
        convert(cell, "date")

