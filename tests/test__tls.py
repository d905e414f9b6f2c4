"""plugins/_tls.py: the TLS context a channel's config asks for."""
from __future__ import annotations

import ssl

import pytest

from flowctl.hooktypes import DeliveryError
from flowctl.plugins._tls import tls_context


@pytest.mark.parametrize("config", [{}, {"tls_verify": True}, {"tls_verify": "no"}, {"cafile": None}])
def test_certificates_are_verified_unless_told_false(config):
    context = tls_context(config)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True


def test_tls_verify_false_trusts_any_certificate():
    context = tls_context({"tls_verify": False, "cafile": "/no/such/file"})  # cafile is then not read
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False


@pytest.mark.parametrize("content", [None, "not a certificate\n"])
def test_a_cafile_that_cannot_be_loaded_is_a_delivery_error_naming_it(tmp_path, content):
    cafile = tmp_path / "ca.pem"
    if content is not None:
        cafile.write_text(content)
    with pytest.raises(DeliveryError, match=f"cannot load cafile {cafile}"):
        tls_context({"cafile": str(cafile)})
