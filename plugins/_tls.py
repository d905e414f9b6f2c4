"""What the SMTP and webhook channels share: the TLS context a channel's config asks for."""
from __future__ import annotations

import ssl

from flowctl.hooktypes import DeliveryError


def tls_context(config: dict) -> ssl.SSLContext:
    """`tls_verify: false` trusts any certificate; `cafile` names the CA to trust."""
    if config.get("tls_verify", True) is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    cafile = config.get("cafile")
    try:
        return ssl.create_default_context(cafile=cafile)
    except OSError as exc:
        raise DeliveryError(f"cannot load cafile {cafile}: {getattr(exc, 'strerror', None) or exc}") from exc
