"""The schema-less layer: parse any DER (or BER) input into a tree of ``Element`` objects.

``parse(data, ber=False)`` is strict DER by default, as far as DER can be checked without a schema:

* definite, minimal lengths; minimal tag encodings; nothing after the end of the element;
* the string types, BIT STRING and OCTET STRING primitive only; SEQUENCE and SET constructed;
* valid universal primitives: BOOLEAN 00/FF, minimal INTEGER/ENUMERATED, empty NULL, well-formed OBJECT
  IDENTIFIER, BIT STRING with 0-7 unused bits that are zero, UTCTime/GeneralizedTime in their DER forms
  (seconds present, ``Z``, ``.`` as the decimal mark, no trailing zeros in a fraction), string charsets checked;
* nesting bounded (64 levels).

Documented leniencies: TeletexString (and the other T.61-era string types) are read as latin-1; the order of
SET / SET OF elements is not checked (OpenSSL writes PKCS#7 certificate sets unsorted) and is kept as found.

``ber=True`` also accepts indefinite lengths, constructed strings (presented as one primitive element holding the
concatenated content) and non-minimal lengths; ``Element.to_der()`` then gives the DER form (SET order kept).
"""
from __future__ import annotations

from ._der import BitStringValue, Element, encode_header, normalize_ber, parse

__all__ = ["parse", "Element", "BitStringValue", "normalize_ber", "encode_header"]


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
