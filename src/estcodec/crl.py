"""X.509 certificate revocation lists (RFC 5280 §5), read without building an object per revoked entry.

Read::

    crl = CertificateList.from_der(data)            # or .from_pem(text)
    crl.issuer, crl.this_update, crl.next_update, crl.crl_number, crl.extensions
    len(crl)                                         # number of revoked entries
    entry = crl.get_revoked(serial)                  # RevokedCertificate or None
    for entry in crl:                                # one RevokedCertificate at a time
        entry.serial_number, entry.revocation_date, entry.reason, entry.invalidity_date
    crl.verify(issuer_certificate)                   # None, or raises SignatureError

``from_der`` checks the whole CRL as strict DER in one pass, the revokedCertificates list included (each entry's
serial a minimal INTEGER, its date a valid Time, its extensions well-formed), but keeps the entries where they lie
in the input: a CRL of a million entries costs no more memory than its bytes. Iterating decodes one entry at a
time; ``get_revoked`` scans the serials in place (after a few lookups it sorts the entry offsets once, 8 bytes per
entry, and bisects). As for certificates, the values inside extnValue (CRL and entry extensions) are checked when
read.

Build (fluent; used by tests and by a test CA)::

    crl = (CertificateListBuilder()
           .issuer(ca_cert.subject)
           .this_update(now).next_update(now + timedelta(days=7))
           .crl_number(42)
           .add_revoked(serial, when, reason=CRLReason.KEY_COMPROMISE)
           .sign(ca_key))                           # -> CertificateList
"""
import datetime as _dt
import enum
from typing import TYPE_CHECKING, Annotated, ClassVar, Iterator, List, Optional, cast
from typing import Sequence as _Seq
from typing import Any as _TypingAny

from . import _sigalgs
from . import pem as _pem
from ._der import FieldPath, SeqOfIndex, decode_at, encode_header, tlv_children
from ._sigalgs import SignatureError
from .errors import DecodeError, EncodeError
from .schema import (
    BitString, BitStringValue, Integer, Sequence, SequenceOf, encode, field,
)
from .x509 import oid as _x509_oid
from .x509 import (
    extension_value,
    AlgorithmIdentifier, AuthorityKeyIdentifier, Extension, Extensions, GeneralName, Name, Time,
)

if TYPE_CHECKING:
    from .signer import Signer, SoftwarePrivateKey

__all__ = [
    "CertificateList", "TBSCertList", "RevokedCertificate", "CRLReason", "CertificateListBuilder", "oid",
]


class oid:  # noqa: N801 - a namespace of constants (defined once, in estcodec.x509.oid)
    """OIDs of RFC 5280 §5 (CRL and CRL entry extensions)."""

    CRL_NUMBER = _x509_oid.CRL_NUMBER
    REASON_CODE = _x509_oid.REASON_CODE
    INVALIDITY_DATE = _x509_oid.INVALIDITY_DATE
    DELTA_CRL_INDICATOR = _x509_oid.DELTA_CRL_INDICATOR
    ISSUING_DISTRIBUTION_POINT = _x509_oid.ISSUING_DISTRIBUTION_POINT
    CERTIFICATE_ISSUER = _x509_oid.CERTIFICATE_ISSUER
    FRESHEST_CRL = _x509_oid.FRESHEST_CRL
    AUTHORITY_KEY_IDENTIFIER = _x509_oid.AUTHORITY_KEY_IDENTIFIER


class CRLReason(enum.IntEnum):
    """CRLReason (RFC 5280 §5.3.1); value 7 is not used."""

    UNSPECIFIED = 0
    KEY_COMPROMISE = 1
    CA_COMPROMISE = 2
    AFFILIATION_CHANGED = 3
    SUPERSEDED = 4
    CESSATION_OF_OPERATION = 5
    CERTIFICATE_HOLD = 6
    REMOVE_FROM_CRL = 8
    PRIVILEGE_WITHDRAWN = 9
    AA_COMPROMISE = 10


_ext_value = extension_value  # one walk for certificates, CRLs and OCSP (estcodec.x509)


class RevokedCertificate(Sequence, gc=False):
    """One entry of revokedCertificates."""

    user_certificate: Annotated[int, Integer]
    revocation_date: Annotated[_dt.datetime, Time]
    crl_entry_extensions: Annotated[_Seq[Extension] | None, Extensions] = field(optional=True)

    serial_number: ClassVar["FieldPath[int]"] = FieldPath(0)
    extensions: ClassVar["FieldPath[_Seq[Extension]]"] = FieldPath(2, none_as_list=True)

    @property
    def reason(self) -> "Optional[int]":
        """The reasonCode entry extension (a ``CRLReason``, or a plain int for a value outside it), or None."""
        v = _ext_value(self.extensions, oid.REASON_CODE, (".crl_entry_extensions",))
        if v is None:
            return None
        try:
            return CRLReason(v)
        except ValueError:
            out: Optional[int] = v
            return out

    @property
    def invalidity_date(self) -> "Optional[_dt.datetime]":
        """The invalidityDate entry extension (RFC 5280 §5.3.2), or None."""
        out: Optional[_dt.datetime] = _ext_value(self.extensions, oid.INVALIDITY_DATE, (".crl_entry_extensions",))
        return out

    @property
    def certificate_issuer(self) -> "Optional[List[GeneralName]]":
        """The certificateIssuer entry extension (indirect CRLs): a list of GeneralName, or None."""
        out: Optional[List[GeneralName]] = _ext_value(self.extensions, oid.CERTIFICATE_ISSUER,
                                                      (".crl_entry_extensions",))
        return out

    def extension(self, extn_id: str) -> "Optional[Extension]":
        """The entry extension with OID ``extn_id``, or None."""
        for ext in self.extensions:
            if ext.extn_id == extn_id:
                out: Optional[Extension] = ext
                return out
        return None

    def __repr__(self) -> str:
        return f"<RevokedCertificate serial={self.serial_number} date={self.revocation_date.isoformat()}>"


class TBSCertList(Sequence, gc=False):
    """The signed part of a CRL as a plain model (every entry decoded): for building, and for small CRLs.
    ``CertificateList.from_der`` reads the same structure without decoding the entries."""

    version: Annotated[int | None, Integer] = field(optional=True)
    signature: AlgorithmIdentifier
    issuer: Name
    this_update: Annotated[_dt.datetime, Time]
    next_update: Annotated[_dt.datetime | None, Time] = field(optional=True)
    revoked_certificates: Annotated[list[RevokedCertificate] | None,
                                    SequenceOf(RevokedCertificate)] = field(optional=True)
    crl_extensions: Annotated[_Seq[Extension] | None, Extensions] = field(explicit=0, optional=True)


class _CertificateListModel(Sequence, gc=False):
    tbs_cert_list: TBSCertList
    signature_algorithm: AlgorithmIdentifier
    signature_value: Annotated[BitStringValue, BitString]


_F = {f.name: f for f in TBSCertList._asn1_spec.fields}

# The components of TBSCertList in order: name, (tag class, constructed, tag) or None for Time, optional.
_LAYOUT = (
    ("version", (0, False, 2), True),
    ("signature", (0, True, 16), False),
    ("issuer", (0, True, 16), False),
    ("this_update", None, False),
    ("next_update", None, True),
    ("revoked_certificates", (0, True, 16), True),
    ("crl_extensions", (2, True, 0), True),
)
_TIME_TAGS = ((0, False, 23), (0, False, 24))
_EMPTY_INDEX: "tuple[()]" = ()


def _children(src: bytes, start: int, end: int, path: "tuple[str, ...]"
              ) -> "list[tuple[int, bool, int, int, int, int]]":
    try:
        return tlv_children(src, start, end)
    except DecodeError as e:
        for seg in path:
            e._push(seg)
        raise


def _decode_part(spec: object, src: bytes, c: "tuple[int, bool, int, int, int, int]", path: "tuple[str, ...]"
                 ) -> _TypingAny:
    try:
        return decode_at(spec, src, c[3], c[5])
    except DecodeError as e:
        for seg in path:
            e._push(seg)
        raise


class CertificateList:
    """A CRL read from DER: the fields of TBSCertList, the signature, and the revoked entries by offset.

    Instances are immutable and keep the input bytes (``to_der()`` gives them back)."""

    __slots__ = ("_src", "_tbs", "_values", "_revoked", "_sig_alg", "_sig")
    _src: bytes
    _tbs: "tuple[int, bool, int, int, int, int]"
    _values: "dict[str, _TypingAny]"  # the decoded fields of TBSCertList by name
    _revoked: "SeqOfIndex | tuple[()]"
    _sig_alg: AlgorithmIdentifier
    _sig: BitStringValue

    @classmethod
    def from_der(cls, data: "bytes | bytearray | memoryview") -> "CertificateList":
        """Decode a CRL (strict DER). Raises :class:`~estcodec.DecodeError` (with offset and path) for malformed
        input."""
        src = bytes(data)
        top = _children(src, 0, len(src), ())
        if not top:
            raise DecodeError("empty input", 0, "truncated")
        outer = top[0]
        if outer[:3] != (0, True, 16):
            raise DecodeError("expected SEQUENCE (CertificateList)", outer[3], "unexpected-tag")
        if len(top) > 1:
            raise DecodeError(f"{len(src) - outer[5]} bytes of trailing data after the value", outer[5],
                              "trailing-data")
        parts = _children(src, outer[4], outer[5], ())
        if len(parts) != 3:
            raise DecodeError(f"CertificateList has {len(parts)} components, not 3", outer[3],
                              "missing-field" if len(parts) < 3 else "unexpected-tag")
        tbs, alg, sig = parts
        if tbs[:3] != (0, True, 16):
            raise DecodeError("expected SEQUENCE (TBSCertList)", tbs[3], "unexpected-tag", "$.tbs_cert_list")
        self = object.__new__(cls)
        self._src = src
        self._tbs = tbs
        self._sig_alg = _decode_part(AlgorithmIdentifier, src, alg, (".signature_algorithm",))
        self._sig = _decode_part(BitString, src, sig, (".signature_value",))
        values: dict[str, _TypingAny] = {}
        revoked: SeqOfIndex | tuple[()] = _EMPTY_INDEX
        items = _children(src, tbs[4], tbs[5], (".tbs_cert_list",))
        k = 0
        for name, tag, optional in _LAYOUT:
            c = items[k] if k < len(items) else None
            hit = c is not None and (c[:3] in _TIME_TAGS if tag is None else c[:3] == tag)
            if not hit or c is None:  # (hit implies c; said twice for the type checker)
                if not optional:
                    at = c[3] if c is not None else tbs[3]
                    raise DecodeError(f"TBSCertList has no {name} here", at,
                                      "unexpected-tag" if c is not None else "missing-field",
                                      f"$.tbs_cert_list.{name}")
                continue
            k += 1
            path = (f".{name}", ".tbs_cert_list")
            if name == "revoked_certificates":
                try:
                    revoked = SeqOfIndex(src, c[4], c[5], RevokedCertificate)
                except DecodeError as e:
                    for seg in path:
                        e._push(seg)
                    raise
            else:
                values[name] = _decode_part(_F[name].spec, src, c, path)
        if k < len(items):
            raise DecodeError("TBSCertList has an unexpected element after its last field", items[k][3],
                              "unexpected-tag", "$.tbs_cert_list")
        if "version" in values and values["version"] != 1:
            raise DecodeError(f"CRL version {values['version']} (only v2, 1, may be written)", items[0][3],
                              "invalid-value", "$.tbs_cert_list.version")
        self._values = values
        self._revoked = revoked
        return self

    @classmethod
    def from_pem(cls, text: "str | bytes") -> "CertificateList":
        """Decode the first X509 CRL block of PEM ``text``. Raises :class:`~estcodec.DecodeError` when there is
        none."""
        for label, der in _pem.decode(text):
            if label in ("X509 CRL", "CRL"):
                return cls.from_der(der)
        raise DecodeError("no X509 CRL block in the PEM input", 0, "invalid-pem")

    def to_der(self) -> bytes:
        """The DER of the CRL, as it was decoded or built."""
        return self._src

    def to_pem(self) -> str:
        """The CRL as a PEM X509 CRL block (RFC 7468 §6)."""
        return _pem.encode("X509 CRL", self._src)

    def to_model(self) -> _CertificateListModel:
        """Every entry decoded, as a plain model (for small CRLs, or to re-encode with changes)."""
        return _CertificateListModel.from_der(self._src)

    # -- the fields of TBSCertList --
    @property
    def version(self) -> int:
        """0 for v1 (version absent), 1 for v2."""
        out: int = self._values.get("version", 0)
        return out

    @property
    def signature(self) -> bytes:
        """The signature bits as bytes."""
        return self._sig.data

    @property
    def signature_algorithm(self) -> AlgorithmIdentifier:
        """The outer signatureAlgorithm (RFC 5280 §5.1.1.2)."""
        return self._sig_alg

    @property
    def signature_algorithm_oid(self) -> str:
        """The OID of the outer signatureAlgorithm."""
        return self._sig_alg.algorithm

    @property
    def tbs_signature_algorithm(self) -> AlgorithmIdentifier:
        """The signature field inside TBSCertList (must equal ``signature_algorithm`` for ``verify``)."""
        out: AlgorithmIdentifier = self._values["signature"]
        return out

    @property
    def issuer(self) -> Name:
        """The issuer name (RFC 5280 §5.1.2.3)."""
        out: Name = self._values["issuer"]
        return out

    @property
    def this_update(self) -> _dt.datetime:
        """thisUpdate (RFC 5280 §5.1.2.4)."""
        out: _dt.datetime = self._values["this_update"]
        return out

    @property
    def next_update(self) -> "Optional[_dt.datetime]":
        """nextUpdate (RFC 5280 §5.1.2.5), or None when absent."""
        return self._values.get("next_update")

    @property
    def extensions(self) -> "List[Extension]":
        """The crlExtensions (RFC 5280 §5.2); an empty list when absent."""
        return self._values.get("crl_extensions") or []

    @property
    def tbs_der(self) -> bytes:
        """The exact bytes the issuer signed."""
        return self._src[self._tbs[3]:self._tbs[5]]

    def extension(self, extn_id: str) -> "Optional[Extension]":
        """The CRL extension with OID ``extn_id``, or None."""
        for ext in self.extensions:
            if ext.extn_id == extn_id:
                return ext
        return None

    def _crl_ext(self, extn_id: str) -> _TypingAny:
        return _ext_value(self.extensions, extn_id, (".crl_extensions", ".tbs_cert_list"))

    @property
    def crl_number(self) -> "Optional[int]":
        """The cRLNumber extension (RFC 5280 §5.2.3), or None."""
        out: Optional[int] = self._crl_ext(oid.CRL_NUMBER)
        return out

    @property
    def delta_crl_indicator(self) -> "Optional[int]":
        """The deltaCRLIndicator extension's base CRL number (RFC 5280 §5.2.4), or None for a complete CRL."""
        out: Optional[int] = self._crl_ext(oid.DELTA_CRL_INDICATOR)
        return out

    @property
    def authority_key_identifier(self) -> "Optional[bytes]":
        """The keyIdentifier of the authorityKeyIdentifier extension (RFC 5280 §5.2.1), or None."""
        aki = self._crl_ext(oid.AUTHORITY_KEY_IDENTIFIER)
        return None if aki is None else cast("Optional[bytes]", aki.key_identifier)

    def validate_extensions(self) -> "CertificateList":
        """Check the value of every registered CRL extension now (entry extensions are checked when the entry is
        read); returns the CRL."""
        for i, ext in enumerate(self.extensions):
            try:
                ext.parsed  # noqa: B018 - reading it decodes (and so checks) the value
            except DecodeError as e:
                for seg in (".extn_value", f"[{i}]", ".crl_extensions", ".tbs_cert_list"):
                    e._push(seg)
                raise
        return self

    # -- the revoked entries --
    @property
    def revoked_certificates(self) -> "SeqOfIndex | tuple[()]":
        """The entries: a sized iterable that decodes one ``RevokedCertificate`` at a time (empty when absent)."""
        return self._revoked

    def __len__(self) -> int:
        return len(self._revoked)

    def __iter__(self) -> Iterator[RevokedCertificate]:
        return iter(self._revoked)

    def get_revoked(self, serial_number: int) -> "Optional[RevokedCertificate]":
        """The entry for ``serial_number`` (the first, should the CRL list it twice), or None."""
        if not self._revoked:
            return None
        out: Optional[RevokedCertificate] = self._revoked.find(_serial_octets(serial_number))
        return out

    def is_revoked(self, serial_number: int) -> bool:
        """Whether the CRL lists ``serial_number`` as revoked."""
        return self.get_revoked(serial_number) is not None

    # -- signature --
    def verify(self, issuer: object) -> None:
        """Check the issuer's signature: ``issuer`` is a certificate (estcodec or cryptography), a public key or
        SPKI DER. Returns None or raises ``SignatureError`` (also when the two signature algorithm fields
        differ)."""
        if self._values["signature"].to_der() != self._sig_alg.to_der():
            raise SignatureError("the signature algorithm inside TBSCertList differs from the outer one")
        _sigalgs.verify(self._sig_alg, issuer, self.tbs_der, self.signature)

    def is_signature_valid(self, issuer: object) -> bool:
        """Whether ``issuer`` (a certificate or public key) verifies the CRL's signature. Raises
        ``UnsupportedSignatureAlgorithm`` for an algorithm this package cannot verify."""
        try:
            self.verify(issuer)
        except _sigalgs.UnsupportedSignatureAlgorithm:
            raise
        except SignatureError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<CertificateList issuer={self.issuer.rfc4514_string()!r} entries={len(self)}>"


def _serial_octets(serial_number: int) -> bytes:
    """The content octets of ``serial_number`` as a DER INTEGER (minimal two's complement)."""
    n = int(serial_number)
    size = (n.bit_length() + 8) // 8 if n >= 0 else ((~n).bit_length() + 8) // 8
    return n.to_bytes(size, "big", signed=True)


class CertificateListBuilder:
    """Builds and signs a CRL (v2). Fluent: each method returns the builder."""

    def __init__(self) -> None:
        self._issuer: Optional[Name] = None
        self._this_update: Optional[_dt.datetime] = None
        self._next_update: Optional[_dt.datetime] = None
        self._revoked: List[RevokedCertificate] = []
        self._extensions: List[Extension] = []

    def issuer(self, name: Name) -> "CertificateListBuilder":
        """Set the issuer name; returns the builder."""
        self._issuer = name
        return self

    def this_update(self, when: _dt.datetime) -> "CertificateListBuilder":
        """Set thisUpdate; returns the builder."""
        self._this_update = when
        return self

    def next_update(self, when: _dt.datetime) -> "CertificateListBuilder":
        """Set nextUpdate; returns the builder."""
        self._next_update = when
        return self

    def add_extension(self, extn_id: str, value: object, critical: bool = False) -> "CertificateListBuilder":
        """Add a CRL extension (``value`` is encoded with the OID's registered type); returns the builder."""
        self._extensions.append(Extension.build(extn_id, value, critical))
        return self

    def crl_number(self, n: int) -> "CertificateListBuilder":
        """Add the cRLNumber extension (RFC 5280 §5.2.3); returns the builder."""
        return self.add_extension(oid.CRL_NUMBER, n)

    def authority_key_identifier(self, key_identifier: bytes) -> "CertificateListBuilder":
        """Add the authorityKeyIdentifier extension with ``key_identifier`` (RFC 5280 §5.2.1); returns the builder.
        """
        return self.add_extension(oid.AUTHORITY_KEY_IDENTIFIER, AuthorityKeyIdentifier(key_identifier=key_identifier))

    def add_revoked(self, serial_number: int, revocation_date: _dt.datetime, *, reason: "Optional[int]" = None,
                    invalidity_date: "Optional[_dt.datetime]" = None) -> "CertificateListBuilder":
        """Add a revoked certificate entry, with optional reasonCode and invalidityDate entry extensions (RFC 5280
        §5.3); returns the builder."""
        exts = []
        if reason is not None:
            exts.append(Extension.build(oid.REASON_CODE, int(reason)))
        if invalidity_date is not None:
            exts.append(Extension.build(oid.INVALIDITY_DATE, invalidity_date))
        self._revoked.append(RevokedCertificate(user_certificate=int(serial_number), revocation_date=revocation_date,
                                                crl_entry_extensions=exts or None))
        return self

    def tbs(self, signature: AlgorithmIdentifier) -> TBSCertList:
        """The TBSCertList (version 2) signed with ``signature``. Raises :class:`~estcodec.EncodeError` without an
        issuer or a thisUpdate."""
        if self._issuer is None or self._this_update is None:
            raise EncodeError("a CRL needs an issuer and a thisUpdate")
        return TBSCertList(version=1, signature=signature, issuer=self._issuer, this_update=self._this_update,
                           next_update=self._next_update, revoked_certificates=self._revoked or None,
                           crl_extensions=self._extensions or None)

    def sign(self, private_key: "SoftwarePrivateKey | Signer", *, hash_algorithm: _sigalgs.HashLike = None
             ) -> CertificateList:
        """Sign the CRL with ``private_key`` (or a :class:`~estcodec.signer.Signer`) and return it decoded."""
        # The algorithm identifier is known before signing (sign() returns it with the signature).
        alg, _ = _sigalgs.sign(private_key, b"", hash_algorithm=hash_algorithm)
        tbs_der = encode(TBSCertList, self.tbs(alg))
        alg2, sig = _sigalgs.sign(private_key, tbs_der, hash_algorithm=hash_algorithm)
        body = tbs_der + encode(AlgorithmIdentifier, alg2) + encode(BitString, BitStringValue(sig, 0))
        return CertificateList.from_der(encode_header(0, True, 16, len(body)) + body)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
