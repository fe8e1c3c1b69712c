"""How the reference server encrypts a generated key for the client (RFC 7030 §4.4.1/§4.4.2): the key-wrap and
key-agreement algorithms come from the client's SMIMECapabilities (RFC 8551 §2.5.2: in order of preference)
when it lists ones the server can use; otherwise the defaults that go with the recipient's key."""
from __future__ import annotations

import dataclasses
from typing import Sequence

from estcodec import oids as _oids
from estcodec.enveloped import KeyAgreeRecipient, Recipient

__all__ = ["apply_capabilities"]

_AES_WRAP = (_oids.ID_AES128_WRAP, _oids.ID_AES192_WRAP, _oids.ID_AES256_WRAP)
_ECDH_SCHEMES = (_oids.DH_SINGLE_PASS_STD_DH_SHA256KDF_SCHEME, _oids.DH_SINGLE_PASS_STD_DH_SHA384KDF_SCHEME,
                 _oids.DH_SINGLE_PASS_STD_DH_SHA512KDF_SCHEME)


def apply_capabilities(recipient: Recipient, capabilities: Sequence[str]) -> Recipient:
    """``recipient`` with its key-wrap and key-agreement scheme taken from ``capabilities`` (capability OIDs,
    the client's order); the content cipher and RSA padding are chosen by the caller from the same list.
    A KEK recipient's wrap follows its key size and is returned unchanged."""
    if not isinstance(recipient, KeyAgreeRecipient):
        return recipient
    wrap = next((c for c in capabilities if c in _AES_WRAP), None)
    scheme = next((c for c in capabilities if c in _ECDH_SCHEMES), None)
    return dataclasses.replace(recipient, wrap=wrap or recipient.wrap, scheme=scheme or recipient.scheme)
