"""Secrets out of text: passwords in URLs (every form a store or channel URL takes) and
in `key=value` connection strings, replaced by ***. Applied to URLs before they are
shown or written, and to driver messages that may echo them."""
from __future__ import annotations

import re

# scheme://userinfo@host… : the userinfo runs to the LAST @ of the URL's authority, so a
# raw `@` in a password (`u:p@ss@host`) is masked whole, a `/` in it too.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>(?:[^\s'\"<>@]*@)+)")
# password=… in a query string (`?password=`, `&sslpassword=`) or a libpq DSN (`password=x host=y`)
_PARAM = re.compile(r"(?i)(?P<key>\b(?:ssl)?(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?token)\s*=\s*)"
                    r"(?P<value>'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;#'\"]+)")


def _userinfo(match: re.Match) -> str:
    userinfo = match.group("userinfo")[:-1]
    user, colon, _ = userinfo.partition(":")
    return f"{match.group('scheme')}{user}:***@" if colon else match.group(0)


def mask_secrets(text: str) -> str:
    """`text` with every URL password and `password=` value replaced by ***."""
    if "@" in text:
        text = _USERINFO.sub(_userinfo, text)
    if "=" in text:
        text = _PARAM.sub(lambda m: m.group("key") + "***", text)
    return text
