"""The words flowctl writes — of reports, proposals, the board and notification messages —
as gettext message catalogs built with Babel: a language is one `.po` file.

English is the source: messages are written in English in the templates (`{% trans %}`,
`_()`) and in Python (`Words._`, `ngettext`, `pgettext`, `N_`); `babel.cfg` tells
`pybabel extract` where, and `scripts/update-catalogs` re-extracts, updates every
language and compiles (docs/reports.md). The built-in catalogs are in
`flowctl/locale/<lang>/LC_MESSAGES/flowctl.po`, compiled to the `.mo` beside it (committed;
tests/test_catalogs.py fails when one misses a message, when placeholders differ, or
when a `.mo` is older than its `.po`).

A company adds or changes a language without touching flowctl: a `locale/<lang>/
LC_MESSAGES/flowctl.po` beside its workflow is read (with Babel, no compile step) before
the built-in one of the same language, message by message. A locale falls back to its
language (`de_CH` -> `de`), then to English. Nothing is read until words are needed:
catalogs load when something is rendered, once per process and language.
"""
from __future__ import annotations

import gettext
import io
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from .diagnostics import Diagnostic, FlowctlError

DOMAIN = "flowctl"
# In a message: `%(name)s` or `%%`; anything else after a `%` (a width, `%d`, …) is refused.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\)s|%)|(%)")
BUILTIN = Path(__file__).resolve().parent / "locale"
COMPANY_FOLDER = "locale"  # beside the workflow, as templates/ is


def placeholders(text: str) -> set[str] | None:
    """The names of a message's `%(name)s` placeholders; None when it has another kind of
    `%` directive (a width could make one message huge; `%d` fails on text)."""
    names = set()
    for match in PLACEHOLDER.finditer(text):
        if match.group(2):
            return None
        if match.group(1):
            names.add(match.group(1))
    return names


def problems(message: Any) -> str | None:
    """What is wrong with a translated Babel message: placeholders the source does not
    have, or a directive other than `%(name)s` and `%%`."""
    ids = message.id if isinstance(message.id, (list, tuple)) else [message.id]
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    known: set[str] = set()
    for text in ids:
        names = placeholders(text)
        known |= names or set()
    for text in strings:
        if not text:
            continue
        names = placeholders(text)
        if names is None:
            return f"{text!r}: only %(name)s placeholders (and %% for a percent sign) are allowed"
        if names - known:
            return f"{text!r} has placeholders the message does not: {', '.join(sorted(names - known))}"
    return None


def N_(message: str) -> str:
    """Marks a message for extraction where it is written; it is translated where used."""
    return message


class Words:
    """The words of one language. Like Jinja2's new-style gettext, every message is a
    %-format: placeholders are `%(name)s`, and a literal percent sign is `%%`."""

    def __init__(self, translations: gettext.NullTranslations, language: str):
        self.translations = translations
        self.language = language

    def _(self, message: str, **values: Any) -> str:
        return self.translations.gettext(message) % values

    def ngettext(self, singular: str, plural: str, count: float, **values: Any) -> str:
        """`count` chooses the form; `values` fill it in (`n` is usually count, formatted)."""
        return self.translations.ngettext(singular, plural, plural_count(count)) % values

    def pgettext(self, context: str, message: str, **values: Any) -> str:
        return self.translations.pgettext(context, message) % values


def plural_count(n: float) -> int:
    """gettext chooses a plural form by an integer: 1.5 days take the plural."""
    number = float(n)
    return int(number) if number.is_integer() else 2


def candidates(locale: str | None) -> list[str]:
    """`de-CH` -> [`de_CH`, `de`]."""
    text = (locale or "en").strip().replace("-", "_")
    lang, _, region = text.partition("_")
    lang = lang.lower()
    return [f"{lang}_{region.upper()}", lang] if region else [lang]


class Catalogs:
    """The catalogs of a project: its own folders first (a company's `locale/`), then
    the built-in ones."""

    def __init__(self, folders: Iterable[str | Path] = ()):
        self.folders = [Path(f) for f in folders if Path(f).is_dir()]
        self._words: dict[str, Words] = {}

    def words(self, locale: str | None) -> Words:
        key = "_".join(candidates(locale)[:1])
        if key not in self._words:
            found = [t for name in candidates(locale) for t in self._load(name)]
            chain: gettext.NullTranslations = gettext.NullTranslations()
            for translations in reversed(found):  # the first found answers first
                translations.add_fallback(chain)
                chain = translations
            language = next((name for name in candidates(locale) if self._has(name)), "en")
            self._words[key] = Words(chain, language.split("_")[0] if language != "en" else "en")
        return self._words[key]

    def language(self, locale: str | None) -> str:
        """The language whose words a locale gets: its own when a catalog has them, else en."""
        return self.words(locale).language

    def _has(self, name: str) -> bool:
        return any((f / name / "LC_MESSAGES" / f"{DOMAIN}.po").is_file() for f in self.folders) or \
            (BUILTIN / name / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()

    def _load(self, name: str) -> list[gettext.NullTranslations]:
        out: list[gettext.NullTranslations] = [company_catalog(f / name / "LC_MESSAGES" / f"{DOMAIN}.po")
                                               for f in self.folders if (f / name / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()]
        builtin = builtin_catalog(name)
        return out + ([builtin] if builtin is not None else [])


def builtin_catalog(name: str) -> gettext.GNUTranslations | None:
    """A fresh object each time: a chain of fallbacks is built on it."""
    data = _builtin_bytes(name)
    return gettext.GNUTranslations(io.BytesIO(data)) if data is not None else None


@lru_cache(maxsize=None)
def _builtin_bytes(name: str) -> bytes | None:
    path = BUILTIN / name / "LC_MESSAGES" / f"{DOMAIN}.mo"
    return path.read_bytes() if path.is_file() else None


def company_catalog(path: Path) -> gettext.GNUTranslations:
    """A company's `.po`, compiled in memory (fuzzy and untranslated entries left out, so
    the built-in words stand for them). A broken one is an error naming the line."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import PoFileError, read_po

    try:
        with path.open("rb") as f:
            catalog = read_po(f, abort_invalid=True)
    except PoFileError as exc:
        line = exc.lineno + 1 if isinstance(getattr(exc, "lineno", None), int) else None  # Babel counts from 0
        raise FlowctlError(Diagnostic(str(path), f"not a valid gettext catalog: {exc}", line=line,
                                      column=1 if line else None)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FlowctlError(Diagnostic(str(path), f"not a readable gettext catalog: {exc}")) from None
    for message in catalog:
        if message.id and (wrong := problems(message)):
            raise FlowctlError(Diagnostic(str(path), wrong, line=message.lineno, column=1))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
