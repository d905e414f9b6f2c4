"""Tests for flowctl.i18n: numbers, amounts, percentages and dates for a locale, the
locale check, and the filters and gettext functions templates get."""
from __future__ import annotations

import math

import jinja2
import pytest

from flowctl import i18n
from flowctl.catalogs import Catalogs

NBSP = str.maketrans({"\u00a0": " ", "\u202f": " "})


def plain(text: str) -> str:
    return text.translate(NBSP)


def test_numbers_amounts_and_dates_follow_the_locale():
    assert i18n.money(1234567, "EUR", "en") == "€1,234,567"
    assert i18n.money(1234567, "EUR", "de").replace("\u00a0", " ") == "1.234.567 €"
    assert i18n.money(1234.5, "USD", "es").replace("\u00a0", " ") == "1.234,50 US$"
    assert i18n.money_short(2_500_000, "EUR", "en") == "€2.5M"
    assert i18n.money_short(517_400, "EUR", "de").replace("\u00a0", " ") == "517.400 €"
    assert i18n.percent(0.6315, "en") == "63.2%" and i18n.percent(0.6315, "de").replace("\u00a0", " ") == "63,2 %"
    assert i18n.date("2026-11-23", "es") == "23 nov 2026" and i18n.date("2026-11-23", "de") == "23.11.2026"
    assert i18n.date("2026-11-23", "en", days=30) == "Dec 23, 2026"
    words = Catalogs().words("de")
    assert i18n.days(1, words, "de") == "1 Tag" and i18n.days(2.5, words, "de") == "2,5 Tage"
    assert i18n.money(1000, "EUR", "fr").replace("\u202f", " ").replace("\u00a0", " ") == "1 000 €"
    with pytest.raises(i18n.LocaleError):
        i18n.check_locale("xx-bogus")


NOT_NUMBERS = [None, True, False, "x", "", [], {}, math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_what_is_not_a_finite_number_is_a_dash(value):
    words = Catalogs().words("en")
    assert i18n.money(value) == i18n.money_short(value) == i18n.number(value) == i18n.percent(value) == i18n.DASH
    assert i18n.days(value, words) == i18n.DASH


@pytest.mark.parametrize("value, currency, locale, text", [
    (0, "EUR", "en", "€0"),
    (-5, "EUR", "en", "-€5"),
    (12.5, "usd", "en", "$12.50"),  # the code in any case
    (12.5, None, "en", "€12.50"),  # EUR by default
    (1234.5, "EUR", None, "€1,234.50"),  # en by default
    ("310000", "EUR", "en", "€310,000"),  # a number written as text
    (1e29, "EUR", "en", "€99,999,999,999,999,991,433,150,857,216"),  # past decimal's 28 digits
])
def test_money(value, currency, locale, text):
    assert i18n.money(value, currency, locale) == text


def test_money_whole_drops_the_cents():
    assert i18n.money(1234.56, "EUR", "en", whole=True) == "€1,235"
    assert i18n.money(1234.0, "EUR", "en", whole=False) == "€1,234.00"


@pytest.mark.parametrize("value, locale, text", [
    (999, "en", "€999"), (1000, "en", "€1K"), (1_250_000, "en", "€1.2M"), (-2_500_000, "en", "-€2.5M"),
    (517_400, "de", "517.400 €"),  # German has no short form for thousands
])
def test_money_short(value, locale, text):
    assert plain(i18n.money_short(value, "EUR", locale)) == text


def test_money_short_of_the_largest_amount_is_still_a_text():
    assert i18n.money_short(1e300, "EUR", "en").startswith("€1")


@pytest.mark.parametrize("value, locale, digits, text", [
    (1234.5678, "en", 2, "1,234.57"), (1234.5, "de", 0, "1.234"), (1.5, "en", 2, "1.5"),  # trailing zeros dropped
    ("12", "en", 0, "12"), (0, "en", 1, "0"), (-0.25, "en", 1, "-0.2"),
])
def test_number(value, locale, digits, text):
    assert i18n.number(value, locale, digits) == text


@pytest.mark.parametrize("value, locale, digits, text", [
    (0, "en", 1, "0.0%"), (1, "en", 0, "100%"), (0.12345, "fr", 2, "12,34 %"), (-0.5, "en", 1, "-50.0%"),
    (2.5, "de", 1, "250,0 %"),
])
def test_percent(value, locale, digits, text):
    assert plain(i18n.percent(value, locale, digits)) == text


@pytest.mark.parametrize("value, text", [
    (None, i18n.DASH), ("", i18n.DASH), ("soon", "soon"), ("2026-02-30", "2026-02-30"),  # not a date: as it is
    ("2026-11-23", "Nov 23, 2026"), ("2026-11-23T10:00:00Z", "Nov 23, 2026"),
])
def test_date(value, text):
    assert i18n.date(value, "en") == text


@pytest.mark.parametrize("value, locale, text, abbr", [
    ("2026-11", "en", "Nov 2026", "Nov"), ("2026-11-05", "en", "Nov 2026", "Nov"), ("2026-11", "de", "Nov. 2026", "Nov"),
    (None, "en", i18n.DASH, i18n.DASH), ("x", "en", "x", "x"),
])
def test_month(value, locale, text, abbr):
    assert i18n.month(value, locale) == text and i18n.month_abbr(value, locale) == abbr


@pytest.mark.parametrize("locale, babel", [
    ("en", "en"), ("es", "es"), ("de-CH", "de_CH"), ("en_US", "en_US"), ("EN", "en"), (" fr ", "fr"), (None, "en"),
    ("", "en"),
])
def test_known_locales(locale, babel):
    assert str(i18n.babel_locale(locale)) == babel
    assert i18n.check_locale(locale) == (locale or "en")


@pytest.mark.parametrize("locale", ["xx-bogus", "e", "../../etc", "en-", "12"])
def test_an_unknown_locale_says_what_to_write(locale):
    with pytest.raises(i18n.LocaleError) as info:
        i18n.check_locale(locale)
    assert str(info.value) == f"unknown locale {locale!r}: use a language code such as en, es, de or fr"


@pytest.fixture(scope="module")
def env():
    environment = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    i18n.install(environment, Catalogs())
    return environment


@pytest.mark.parametrize("template, context, text", [
    ("{{ 1234|money }}", {"locale": "de", "currency": "CHF"}, "1.234 CHF"),
    ("{{ 1234|money }}", {}, "€1,234"),  # en and EUR without a context
    ("{{ 1234|money('USD') }}", {"locale": "en"}, "$1,234"),
    ("{{ 2500000|money_short }}", {}, "€2.5M"),
    ("{{ 0.5|pct }}", {"locale": "de"}, "50,0 %"),
    ("{{ 1234.5|num(1) }}", {"locale": "de"}, "1.234,5"),
    ("{{ '2026-11-23'|date }}", {"locale": "es"}, "23 nov 2026"),
    ("{{ '2026-11-23'|date('short', 7) }}", {"locale": "en"}, "11/30/26"),
    ("{{ '2026-11'|month }}", {"locale": "en"}, "Nov 2026"),
    ("{{ 3|days }}", {"locale": "de"}, "3 Tage"),
    ("{{ 'a|b'|md }}", {}, "a\\|b"),  # safe in a Markdown table cell
    ("{{ _('%(n)s day', n=1) }}", {"locale": "de"}, "1 Tag"),
    ("{{ ngettext('%(n)s day', '%(n)s days', 2, n=2) }}", {"locale": "de"}, "2 Tage"),
])
def test_template_filters_read_locale_and_currency_from_the_context(env, template, context, text):
    assert plain(env.from_string(template).render(**context)) == text


def test_the_workflow_in_the_context_gives_locale_and_currency(env):
    class Workflow:
        locale, currency = "de", "CHF"
    assert plain(env.from_string("{{ 1234|money }}").render(workflow=Workflow())) == "1.234 CHF"


def test_the_old_t_function_says_what_replaced_it(env):
    with pytest.raises(ValueError, match=r"t\('key'\) is gone: the words are gettext messages now"):
        env.from_string("{{ t('x') }}").render()
