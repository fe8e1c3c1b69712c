"""``python -m estcodec dump``: print the element tree of DER/BER/PEM/base64 input, like ``openssl asn1parse -i``.

Each line shows the element's offset, depth, header length, content length, form and tag, then the decoded
value of a primitive::

        0:d=0  hl=4 l= 645 cons: SEQUENCE
        4:d=1  hl=4 l= 365 cons:  SEQUENCE
        8:d=2  hl=2 l=   1 prim:   INTEGER           :0
       17:d=5  hl=2 l=   3 prim:      OBJECT            :commonName (2.5.4.3)

Input is read with :func:`estcodec.pem.load_any` (DER, first PEM block, or base64). It is parsed as strict
DER; if that fails and BER parses, the tree is shown from the BER parse with a note on stderr saying why the
input is not DER (``--ber`` asks for BER directly, without the note). OCTET STRINGs and BIT STRINGs whose
content is itself a constructed DER element (extension values, signed content) are expanded below them,
marked ``encapsulates``; ``--no-expand`` turns that off.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from . import der
from .errors import DecodeError
from .pem import load_any

__all__ = ["OID_NAMES", "oid_name", "format_tree", "dump_bytes", "run"]

# Names of common X.509 / PKIX / PKCS / CMS / CMC / EST object identifiers (the names OpenSSL and the RFCs use).
OID_NAMES: dict[str, str] = {
    # X.520 attribute types
    "2.5.4.3": "commonName", "2.5.4.4": "surname", "2.5.4.5": "serialNumber", "2.5.4.6": "countryName",
    "2.5.4.7": "localityName", "2.5.4.8": "stateOrProvinceName", "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName", "2.5.4.11": "organizationalUnitName", "2.5.4.12": "title",
    "2.5.4.42": "givenName", "2.5.4.43": "initials", "2.5.4.44": "generationQualifier",
    "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
    "0.9.2342.19200300.100.1.1": "userId", "0.9.2342.19200300.100.1.25": "domainComponent",
    # X.509 certificate and CRL extensions
    "2.5.29.14": "subjectKeyIdentifier", "2.5.29.15": "keyUsage", "2.5.29.16": "privateKeyUsagePeriod",
    "2.5.29.17": "subjectAltName", "2.5.29.18": "issuerAltName", "2.5.29.19": "basicConstraints",
    "2.5.29.20": "cRLNumber", "2.5.29.21": "cRLReason", "2.5.29.24": "invalidityDate",
    "2.5.29.27": "deltaCRLIndicator", "2.5.29.28": "issuingDistributionPoint",
    "2.5.29.29": "certificateIssuer", "2.5.29.30": "nameConstraints", "2.5.29.31": "cRLDistributionPoints",
    "2.5.29.32": "certificatePolicies", "2.5.29.32.0": "anyPolicy", "2.5.29.33": "policyMappings",
    "2.5.29.35": "authorityKeyIdentifier", "2.5.29.36": "policyConstraints", "2.5.29.37": "extKeyUsage",
    "2.5.29.37.0": "anyExtendedKeyUsage", "2.5.29.46": "freshestCRL", "2.5.29.54": "inhibitAnyPolicy",
    # PKIX
    "1.3.6.1.5.5.7.1.1": "authorityInfoAccess", "1.3.6.1.5.5.7.1.11": "subjectInfoAccess",
    "1.3.6.1.5.5.7.1.24": "tlsFeature", "1.3.6.1.5.5.7.2.1": "cps", "1.3.6.1.5.5.7.2.2": "unotice",
    "1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth", "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning", "1.3.6.1.5.5.7.3.27": "cmcCA", "1.3.6.1.5.5.7.3.28": "cmcRA",
    "1.3.6.1.5.5.7.3.29": "cmcArchive", "1.3.6.1.5.5.7.3.32": "cmKGA",
    "1.3.6.1.5.5.7.48.1": "OCSP", "1.3.6.1.5.5.7.48.2": "caIssuers", "1.3.6.1.5.5.7.48.5": "caRepository",
    # CMC (RFC 5272 / 6402) controls and content types
    "1.3.6.1.5.5.7.7.1": "id-cmc-statusInfo", "1.3.6.1.5.5.7.7.2": "id-cmc-identification",
    "1.3.6.1.5.5.7.7.3": "id-cmc-identityProof", "1.3.6.1.5.5.7.7.4": "id-cmc-dataReturn",
    "1.3.6.1.5.5.7.7.5": "id-cmc-transactionId", "1.3.6.1.5.5.7.7.6": "id-cmc-senderNonce",
    "1.3.6.1.5.5.7.7.7": "id-cmc-recipientNonce", "1.3.6.1.5.5.7.7.8": "id-cmc-addExtensions",
    "1.3.6.1.5.5.7.7.9": "id-cmc-encryptedPOP", "1.3.6.1.5.5.7.7.10": "id-cmc-decryptedPOP",
    "1.3.6.1.5.5.7.7.11": "id-cmc-lraPOPWitness", "1.3.6.1.5.5.7.7.15": "id-cmc-getCert",
    "1.3.6.1.5.5.7.7.16": "id-cmc-getCRL", "1.3.6.1.5.5.7.7.17": "id-cmc-revokeRequest",
    "1.3.6.1.5.5.7.7.18": "id-cmc-regInfo", "1.3.6.1.5.5.7.7.19": "id-cmc-responseInfo",
    "1.3.6.1.5.5.7.7.21": "id-cmc-queryPending", "1.3.6.1.5.5.7.7.22": "id-cmc-popLinkRandom",
    "1.3.6.1.5.5.7.7.23": "id-cmc-popLinkWitness", "1.3.6.1.5.5.7.7.24": "id-cmc-confirmCertAcceptance",
    "1.3.6.1.5.5.7.7.25": "id-cmc-statusInfoV2", "1.3.6.1.5.5.7.7.26": "id-cmc-trustedAnchors",
    "1.3.6.1.5.5.7.7.27": "id-cmc-authData", "1.3.6.1.5.5.7.7.28": "id-cmc-batchRequests",
    "1.3.6.1.5.5.7.7.29": "id-cmc-batchResponses", "1.3.6.1.5.5.7.7.30": "id-cmc-publishCert",
    "1.3.6.1.5.5.7.7.31": "id-cmc-modCertTemplate", "1.3.6.1.5.5.7.7.32": "id-cmc-controlProcessed",
    "1.3.6.1.5.5.7.7.33": "id-cmc-popLinkWitnessV2", "1.3.6.1.5.5.7.7.34": "id-cmc-identityProofV2",
    "1.3.6.1.5.5.7.7.35": "id-cmc-raIdentityWitness", "1.3.6.1.5.5.7.7.36": "id-cmc-changeSubjectName",
    "1.3.6.1.5.5.7.7.37": "id-cmc-responseBody",
    "1.3.6.1.5.5.7.12.2": "id-cct-PKIData", "1.3.6.1.5.5.7.12.3": "id-cct-PKIResponse",
    # PKCS #1 and algorithms
    "1.2.840.113549.1.1.1": "rsaEncryption", "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption", "1.2.840.113549.1.1.7": "rsaesOaep",
    "1.2.840.113549.1.1.8": "mgf1", "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption", "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption", "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.2.840.10045.2.1": "ecPublicKey", "1.2.840.10045.3.1.7": "prime256v1", "1.3.132.0.34": "secp384r1",
    "1.3.132.0.35": "secp521r1", "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256", "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512", "1.3.101.110": "X25519", "1.3.101.111": "X448",
    "1.3.101.112": "Ed25519", "1.3.101.113": "Ed448",
    "1.3.132.1.11.1": "dhSinglePass-stdDH-sha256kdf-scheme", "1.3.132.1.11.2": "dhSinglePass-stdDH-sha384kdf-scheme",
    "1.3.14.3.2.26": "sha1", "2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512", "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.1.2": "aes128-CBC", "2.16.840.1.101.3.4.1.22": "aes192-CBC",
    "2.16.840.1.101.3.4.1.42": "aes256-CBC", "2.16.840.1.101.3.4.1.5": "aes128-wrap",
    "2.16.840.1.101.3.4.1.25": "aes192-wrap", "2.16.840.1.101.3.4.1.45": "aes256-wrap",
    "2.16.840.1.101.3.4.1.6": "aes128-GCM", "2.16.840.1.101.3.4.1.26": "aes192-GCM",
    "2.16.840.1.101.3.4.1.46": "aes256-GCM", "1.2.840.113549.3.7": "des-ede3-cbc",
    "1.2.840.113549.3.2": "rc2-cbc", "1.2.840.113549.1.5.12": "PBKDF2", "1.2.840.113549.1.5.13": "PBES2",
    "1.2.840.113549.2.7": "hmacWithSHA1", "1.2.840.113549.2.9": "hmacWithSHA256",
    "1.2.840.113549.2.10": "hmacWithSHA384", "1.2.840.113549.2.11": "hmacWithSHA512",
    # PKCS #7 / CMS content types
    "1.2.840.113549.1.7.1": "data", "1.2.840.113549.1.7.2": "signedData", "1.2.840.113549.1.7.3": "envelopedData",
    "1.2.840.113549.1.7.5": "digestedData", "1.2.840.113549.1.7.6": "encryptedData",
    "1.2.840.113549.1.9.16.1.2": "id-ct-authData", "1.2.840.113549.1.9.16.1.9": "id-ct-compressedData",
    "1.2.840.113549.1.9.16.1.23": "id-ct-authEnvelopedData", "1.2.840.113549.1.9.16.3.8": "id-alg-zlibCompress",
    "1.2.840.113549.1.9.16.3.9": "id-alg-PWRI-KEK",
    "2.16.840.1.101.2.1.2.78.5": "id-ct-KP-aKeyPackage",
    # PKCS #9 attributes, and the ones RFC 7030 (EST) uses
    "1.2.840.113549.1.9.1": "emailAddress", "1.2.840.113549.1.9.3": "contentType",
    "1.2.840.113549.1.9.4": "messageDigest", "1.2.840.113549.1.9.5": "signingTime",
    "1.2.840.113549.1.9.7": "challengePassword", "1.2.840.113549.1.9.14": "extensionRequest",
    "1.2.840.113549.1.9.15": "smimeCapabilities", "1.2.840.113549.1.9.16.2.12": "signingCertificate",
    "1.2.840.113549.1.9.16.2.47": "signingCertificateV2", "1.2.840.113549.1.9.16.2.37": "id-aa-decryptKeyID",
    "1.2.840.113549.1.9.16.2.54": "id-aa-asymmDecryptKeyID",
    # Microsoft certificate templates (common in enterprise EST/CMC requests)
    "1.3.6.1.4.1.311.20.2": "certificateTemplateName", "1.3.6.1.4.1.311.21.7": "certificateTemplate",
}

_UNIVERSAL = {
    0: "EOC", 1: "BOOLEAN", 2: "INTEGER", 3: "BIT STRING", 4: "OCTET STRING", 5: "NULL", 6: "OBJECT",
    7: "OBJECT DESCRIPTOR", 8: "EXTERNAL", 9: "REAL", 10: "ENUMERATED", 11: "EMBEDDED PDV",
    12: "UTF8STRING", 13: "RELATIVE OID", 16: "SEQUENCE", 17: "SET", 18: "NUMERICSTRING",
    19: "PRINTABLESTRING", 20: "T61STRING", 21: "VIDEOTEXSTRING", 22: "IA5STRING", 23: "UTCTIME",
    24: "GENERALIZEDTIME", 25: "GRAPHICSTRING", 26: "VISIBLESTRING", 27: "GENERALSTRING",
    28: "UNIVERSALSTRING", 30: "BMPSTRING",
}
_CLASS_PREFIX = {"application": "appl", "context": "cont", "private": "priv"}
_STRING_TAGS = frozenset({7, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30})

MAX_VALUE_CHARS = 80   # strings longer than this are cut
MAX_HEX_BYTES = 32     # octet/bit strings longer than this are cut


def oid_name(oid: str) -> str:
    """``"commonName (2.5.4.3)"`` for a known OID, the dotted form otherwise."""
    name = OID_NAMES.get(oid)
    return f"{name} ({oid})" if name else oid


def _tag_name(el: Any) -> str:
    if el.tag_class == "universal":
        return _UNIVERSAL.get(el.tag, f"[UNIVERSAL {el.tag}]")
    return f"{_CLASS_PREFIX[el.tag_class]} [ {el.tag} ]"


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


def _cut(text: str) -> str:
    if len(text) > MAX_VALUE_CHARS:
        return text[:MAX_VALUE_CHARS] + f"... ({len(text)} chars)"
    return text


def _hex(data: bytes) -> str:
    if len(data) > MAX_HEX_BYTES:
        return data[:MAX_HEX_BYTES].hex().upper() + f"... ({len(data)} bytes)"
    return data.hex().upper()


def _int_text(v: int) -> str:
    if -(1 << 64) < v < (1 << 64):
        return str(v)
    n = (v.bit_length() + 8) // 8
    return "0x" + _hex(v.to_bytes(n, "big", signed=True))


def _value_text(el: Any) -> str:
    """The text after ``:`` for a primitive element ('' for none)."""
    content = bytes(el.content)
    if el.tag_class != "universal":
        # implicitly tagged value of unknown type: text if it looks like text, hex otherwise
        if content and all(0x20 <= b < 0x7F for b in content):
            return _cut(_escape(content.decode("ascii")))
        return _hex(content)
    tag = el.tag
    value = el.value
    if tag == 1:
        return "TRUE" if value else "FALSE"
    if tag in (2, 10):
        return _int_text(value)
    if tag == 5:
        return ""
    if tag == 6:
        return oid_name(value)
    if tag == 3:
        bits = value
        prefix = f"unused={bits.unused_bits} " if bits.unused_bits else ""
        return prefix + _hex(bits.data)
    if tag in (23, 24):
        when = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)
        if isinstance(value, datetime) and value.microsecond:
            when += f".{value.microsecond:06d}".rstrip("0")
        return f"{_escape(content.decode('latin-1'))} ({when} UTC)"
    if tag in _STRING_TAGS and isinstance(value, str):
        return _cut(_escape(value))
    if isinstance(value, str):
        return _cut(_escape(value))
    return _hex(content)


def _is_indefinite(data: bytes, el: Any) -> bool:
    """True if the element's header in *data* uses the indefinite length form."""
    if not el.constructed:
        return False
    return data[el.offset + el.header_length - 1] == 0x80 and _tag_len(data, el.offset) == el.header_length - 1


def _tag_len(data: bytes, offset: int) -> int:
    if data[offset] & 0x1F != 0x1F:
        return 1
    i = offset + 1
    while data[i] & 0x80:
        i += 1
    return i + 1 - offset


def _encapsulated(el: Any) -> tuple[bytes, int] | None:
    """(inner DER, offset of its first byte within the element's content) if el wraps a constructed DER element."""
    if el.tag_class != "universal" or el.tag not in (3, 4) or el.constructed:
        return None
    content = bytes(el.content)
    skip = 0
    if el.tag == 3:
        if not content or content[0] != 0:
            return None
        skip = 1
    inner = content[skip:]
    if len(inner) < 2 or not inner[0] & 0x20:
        return None
    return inner, skip


def format_tree(root: Any, data: bytes, *, expand: bool = True, base: int = 0, depth0: int = 0) -> Iterator[str]:
    """Yield one line per element of the tree *root* parsed from *data* (offsets shifted by *base*)."""
    stack: list[tuple[Any, int]] = [(root, depth0)]
    while stack:
        el, depth = stack.pop()
        hl = el.header_length
        if _is_indefinite(data, el):
            length_text = "l=inf "
        else:
            length_text = f"l={el.length:4d}"
        merged = not el.constructed and bool(data[el.offset] & 0x20)
        form = "cons" if el.constructed else "prim"
        line = f"{base + el.offset:5d}:d={depth:<2d} hl={hl} {length_text} {form}: {' ' * depth}{_tag_name(el):<18s}"
        if not el.constructed:
            text = _value_text(el)
            if text:
                line += ":" + text
            if merged:
                line += "  [BER constructed string, content concatenated]"
        yield line.rstrip()
        if el.constructed:
            stack.extend((child, depth + 1) for child in reversed(list(el.children)))
        elif expand:
            enc = _encapsulated(el)
            if enc is not None and not merged:
                inner, skip = enc
                try:
                    sub = der.parse(inner)
                except DecodeError:
                    continue
                inner_base = base + el.offset + hl + skip
                yield f"{'':5s}  {' ' * (depth + 13)}encapsulates:"
                yield from format_tree(sub, inner, expand=True, base=inner_base, depth0=depth + 1)


def dump_bytes(data: bytes, *, ber: bool = False, expand: bool = True,
               out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Parse *data* (DER, PEM, base64; BER with fallback) and write its tree to *out*. Returns the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        raw = load_any(data)
    except DecodeError as exc:
        print(f"error: {exc.detail} (byte {exc.offset}) [{exc.reason}]", file=err)
        return 1
    if ber:
        try:
            root = der.parse(raw, ber=True)
        except DecodeError as exc:
            print(f"error: {exc} [{exc.reason}]", file=err)
            return 1
    else:
        try:
            root = der.parse(raw)
        except DecodeError as strict_exc:
            try:
                root = der.parse(raw, ber=True)
            except DecodeError as exc:
                print(f"error: {exc} [{exc.reason}]", file=err)
                return 1
            print(f"note: input is not DER ({strict_exc} [{strict_exc.reason}]); shown as parsed as BER",
                  file=err)
    for line in format_tree(root, raw, expand=expand):
        print(line, file=out)
    return 0


def run(args: Any) -> int:
    """Entry point of the ``dump`` subcommand (``args`` from ``estcodec.__main__``)."""
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return dump_bytes(data, ber=args.ber, expand=not args.no_expand)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
