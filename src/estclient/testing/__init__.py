"""Test support: :class:`EstTestServer`, a real HTTPS EST (RFC 7030) server on loopback.

It serves the tests, ``est demo``, and anyone who wants to try an EST integration without a CA::

    from estclient.testing import EstTestServer

    with EstTestServer(auth="basic", ca_label="arbitraryLabel1") as srv:
        print(srv.url, srv.username, srv.password)
        open("ca.pem", "wb").write(srv.trust_anchor_pem)
"""
from __future__ import annotations

from .server import OPERATIONS, SERVER_KEY_TYPES, EstTestServer, RequestRecord

__all__ = ["EstTestServer", "RequestRecord", "OPERATIONS", "SERVER_KEY_TYPES"]


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
