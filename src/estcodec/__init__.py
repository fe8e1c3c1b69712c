"""estcodec: a strict, fast ASN.1 DER/BER codec with typed PKI models.

The compiled core lives in ``estcodec._der``; models for X.509, PKCS#10, PKCS#8, CMS, CMC, CSR attributes
and EnvelopedData sit on top of it, as do CRLs (``estcodec.crl``) and OCSP (``estcodec.ocsp``). Each is a
submodule imported by name (``from estcodec.crl import CertificateList``).
"""
from __future__ import annotations

from .errors import DecodeError, EncodeError, Error

try:
    from ._version import version as __version__
except ImportError:  # pragma: no cover - only in a source tree that was never built
    __version__ = "0.0.0"

__all__ = ["__version__", "Error", "DecodeError", "EncodeError"]
