"""What kind of key a ``--key``-style spec names, without importing any crypto: the command line asks this while
it parses its options, before it knows whether the command needs ``cryptography`` at all.
:func:`estclient.keys.is_pkcs11_uri` re-exports it."""
from __future__ import annotations

__all__ = ["is_pkcs11_uri"]


def is_pkcs11_uri(spec: object) -> bool:
    """True when ``spec`` is an RFC 7512 ``pkcs11:`` URI (the scheme is case-insensitive)."""
    return isinstance(spec, str) and spec[:7].lower() == "pkcs11:"
