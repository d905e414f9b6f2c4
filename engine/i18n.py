"""Numbers, amounts and dates formatted for a locale with Babel, and the template
filters that use them.

The words are gettext catalogs (flowctl.catalogs); stage names and job titles come
from the workflow (`Stage.text(locale)`). `install(env, catalogs)` gives templates the
filters `money`, `money_short`, `num`, `pct`, `date`, `month`, `days`, `md` and the
gettext functions of Jinja2's i18n extension (`_`, `gettext`, `ngettext`, `pgettext`,
`{% trans %}`); all read `locale` (and `currency`) from the template's context.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re
from functools import lru_cache
from typing import Any, Callable

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.numbers import (format_compact_currency, format_compact_decimal, format_currency, format_decimal,
                           format_percent)

from .catalogs import Catalogs, Words, plural_count
from .durations import parse_date
from .markdown import escape as markdown

DASH = "—"


class LocaleError(ValueError):
    """A locale Babel does not know."""


@lru_cache(maxsize=64)
def babel_locale(locale: str | None) -> Locale:
    """The Babel Locale of `es`, `de-CH`, `en_US` (LocaleError if unknown)."""
    text = (locale or "en").strip().replace("-", "_")
    try:
        return Locale.parse(text)
    except (UnknownLocaleError, ValueError) as exc:
        raise LocaleError(f"unknown locale {locale!r}: use a language code such as en, es, de or fr") from exc


def check_locale(locale: str | None) -> str:
    """The locale if Babel knows it (LocaleError otherwise)."""
    babel_locale(locale)
    return locale or "en"


# ---------------------------------------------------------------------------------
# numbers, amounts and dates
# ---------------------------------------------------------------------------------

def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _wide_decimals(fn: Callable[..., str]) -> Callable[..., str]:
    """Babel formats through decimal's current context (28 digits): an amount of 1e29,
    within the schema's limits, would raise InvalidOperation. Enough digits for any finite
    float (1e308 has 309)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        with decimal.localcontext() as context:
            context.prec = 400
            context.Emax = max(context.Emax, 999_999)
            return fn(*args, **kwargs)
    return wrapper


@lru_cache(maxsize=64)
def _whole_pattern(locale: str) -> str:
    pattern = babel_locale(locale).currency_formats["standard"].pattern
    return re.sub(r"\.0+", "", pattern)


@_wide_decimals
def money(value: Any, currency: str | None = None, locale: str | None = None, whole: bool | None = None) -> str:
    """An amount in its currency for the locale: `€310,000`, `310.000 €`. Whole amounts
    (and, with whole=True, every amount) without decimals."""
    amount = _number(value)
    if amount is None:
        return DASH
    currency = (currency or "EUR").upper()
    loc = babel_locale(locale)
    if whole is None:
        whole = float(amount).is_integer()
    try:
        if whole:
            return format_currency(round(amount), currency, locale=loc, format=_whole_pattern(locale or "en"),
                                   currency_digits=False)
        return format_currency(amount, currency, locale=loc)
    except Exception:  # an odd currency code: the number and the code
        return f"{number(amount, locale, 2)} {currency}"


@_wide_decimals
def money_short(value: Any, currency: str | None = None, locale: str | None = None) -> str:
    """A compact amount for axes and cards: `€1.2M`, `1,2 Mio. €`."""
    amount = _number(value)
    if amount is None:
        return DASH
    if abs(amount) < 1000 or not _compacts(amount, locale or "en"):
        return money(amount, currency, locale, whole=True)
    try:
        return format_compact_currency(amount, (currency or "EUR").upper(), locale=babel_locale(locale),
                                       fraction_digits=1)
    except Exception:
        return f"{format_compact_decimal(amount, locale=babel_locale(locale), fraction_digits=1)} {currency}"


def _compacts(amount: float, locale: str) -> bool:
    """Whether the locale abbreviates numbers this large (German has no short form
    for thousands: 517.400 € stays whole rather than 517400 €)."""
    short = format_compact_decimal(amount, locale=babel_locale(locale), fraction_digits=1)
    return bool(re.search(r"[^\d\s.,\u00a0\u202f'’+-]", short))


@_wide_decimals
def number(value: Any, locale: str | None = None, digits: int = 0) -> str:
    """A number with the locale's separators, rounded to `digits` decimals (trailing zeros dropped)."""
    num = _number(value)
    if num is None:
        return DASH
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(round(num, digits), format=pattern, locale=babel_locale(locale))


@_wide_decimals
def percent(value: Any, locale: str | None = None, digits: int = 1) -> str:
    """A ratio as a percentage: 0.6315 -> `63.2%` (`63,2 %` in German)."""
    num = _number(value)
    if num is None:
        return DASH
    return format_percent(num, format=_percent_pattern(locale or "en", digits), locale=babel_locale(locale))


@lru_cache(maxsize=64)
def _percent_pattern(locale: str, digits: int) -> str:
    """The locale's percent pattern (`#,##0%`, `#,##0 %`) with `digits` decimals."""
    pattern = babel_locale(locale).percent_formats[None].pattern.split(";")[0]
    if digits <= 0:
        return pattern
    return re.sub(r"0(?!.*0)", "0." + "0" * digits, pattern, count=1)


to_date = parse_date  # one reading of a deal file's dates, the engine's


def date(value: Any, locale: str | None = None, fmt: str = "medium", days: int = 0) -> str:
    """A date for the locale (`Nov 23, 2026`, `23 nov 2026`, `23.11.2026`); `days`
    shifts it (a proposal's validity). Not a date: shown as it is."""
    day = to_date(value)
    if day is None:
        return DASH if value in (None, "") else str(value)
    if days:
        day += dt.timedelta(days=days)
    return format_date(day, format=fmt, locale=babel_locale(locale))


def month(value: Any, locale: str | None = None) -> str:
    """A month for the locale: `Nov 2026`, `nov 2026`, `Nov. 2026`."""
    day = to_date(value if not (isinstance(value, str) and len(value) == 7) else value + "-01")
    if day is None:
        return DASH if value in (None, "") else str(value)
    return format_skeleton("yMMM", day, locale=babel_locale(locale))


def month_abbr(value: Any, locale: str | None = None) -> str:
    """A month's short name alone: `Nov`, `nov`, `Nov.` (charts put the year below)."""
    day = to_date(value if not (isinstance(value, str) and len(value) == 7) else value + "-01")
    if day is None:
        return DASH if value in (None, "") else str(value)
    return format_skeleton("MMM", day, locale=babel_locale(locale))


def days(value: Any, words: Words, locale: str | None = None) -> str:
    """`12 days`, `1 día`, `2,5 Tage`: the number for the locale, the word in its language."""
    num = _number(value)
    if num is None:
        return DASH
    return words.ngettext("%(n)s day", "%(n)s days", num, n=number(num, locale, 1))


# ---------------------------------------------------------------------------------
# template filters
# ---------------------------------------------------------------------------------

def _ctx_locale(context: Any) -> str:
    return context.get("locale") or getattr(context.get("workflow"), "locale", None) or "en"


def _ctx_currency(context: Any) -> str:
    return context.get("currency") or getattr(context.get("workflow"), "currency", None) or "EUR"


def install(env: Any, catalogs: Catalogs) -> None:
    """Register the filters and the gettext functions in a Jinja2 environment that has
    the `jinja2.ext.i18n` extension; the words come from `catalogs`, in the context's locale."""
    from jinja2 import pass_context

    def words(context: Any) -> Words:
        return catalogs.words(_ctx_locale(context))

    @pass_context
    def f_money(context: Any, value: Any, currency: str | None = None, whole: bool | None = None) -> str:
        return money(value, currency or _ctx_currency(context), _ctx_locale(context), whole)

    @pass_context
    def f_money_short(context: Any, value: Any, currency: str | None = None) -> str:
        return money_short(value, currency or _ctx_currency(context), _ctx_locale(context))

    @pass_context
    def f_num(context: Any, value: Any, digits: int = 0) -> str:
        return number(value, _ctx_locale(context), digits)

    @pass_context
    def f_pct(context: Any, value: Any, digits: int = 1) -> str:
        return percent(value, _ctx_locale(context), digits)

    @pass_context
    def f_date(context: Any, value: Any, fmt: str = "medium", days: int = 0) -> str:
        return date(value, _ctx_locale(context), fmt, days)

    @pass_context
    def f_month(context: Any, value: Any) -> str:
        return month(value, _ctx_locale(context))

    @pass_context
    def f_days(context: Any, value: Any) -> str:
        return days(value, words(context), _ctx_locale(context))

    @pass_context
    def gettext(context: Any, message: str) -> str:
        return words(context).translations.gettext(message)

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, n: float) -> str:
        return words(context).translations.ngettext(singular, plural, plural_count(n))

    @pass_context
    def pgettext(context: Any, msgctxt: str, message: str) -> str:
        return words(context).translations.pgettext(msgctxt, message)

    @pass_context
    def npgettext(context: Any, msgctxt: str, singular: str, plural: str, n: float) -> str:
        return words(context).translations.npgettext(msgctxt, singular, plural, plural_count(n))

    env.filters.update(money=f_money, money_short=f_money_short, num=f_num, pct=f_pct, date=f_date,
                       month=f_month, days=f_days, md=markdown)
    env.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)
    env.globals["t"] = _no_more_t


def _no_more_t(*args: Any, **kwargs: Any) -> str:
    """Templates copied by an older `flowctl init` call t('key'): say what replaced it."""
    raise ValueError("t('key') is gone: the words are gettext messages now. Write {{ _('English text') }} or "
                     "{% trans %}English text{% endtrans %}, or copy the current built-in template "
                     "(see docs/reports.md, Languages)")
