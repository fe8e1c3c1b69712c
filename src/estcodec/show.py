"""Recognise a PKI structure and summarise it: ``est show FILE`` and ``python -m estcodec show FILE``.

:func:`identify` tells which structure some DER/BER bytes hold, by shape (never by file name or PEM label):

====================  ======================================================================================
``certificate``       X.509 certificate (RFC 5280)
``csr``               PKCS#10 certification request (RFC 2986)
``certs-only``        CMS SignedData without content or signers, carrying certificates (RFC 7030 §4.1.3)
``csr-attributes``    EST CSR attributes (RFC 7030 §4.5.2, RFC 9908)
``pki-data``          CMC PKIData, signed (Full PKI Request) or bare (RFC 5272 §3.2)
``pki-response``      CMC PKIResponse, signed (Full PKI Response) or bare (RFC 5272 §4.2)
``enveloped-data``    CMS EnvelopedData / AuthEnvelopedData (RFC 5652 §6, RFC 5083)
``private-key``       PKCS#8 / OneAsymmetricKey, PKCS#1 RSA, SEC1 EC, or encrypted PKCS#8 (never printed)
``signed-data``       any other CMS SignedData
``pkcs12``            PKCS#12 / PFX (RFC 7292): what it holds when it opens without a password
====================  ======================================================================================

``est show`` also reads the RFC 7030 §4.4.2 ``multipart/mixed`` server-keygen body (each part summarised).

:func:`summarize` turns them into a plain ``dict`` (JSON-ready: strings, numbers, booleans, lists, dicts) and
:func:`format_text` into readable lines. Input is DER, BER, PEM (every block of a PEM file is shown) or base64.
No private key material is ever part of a summary: a key is described by its algorithm and size only.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Any, Callable

from . import oids as _oids
from . import der as _der
from . import pem as _pem
from ._show_formats import is_pkcs12, openssl_general_name, serial_hex, summarize_pkcs12
from ._show_text import format_text, terminal_safe
from .errors import DecodeError, Error

__all__ = ["KINDS", "identify", "summarize", "summarize_as", "summarize_certificate", "describe_public_key", "summarize_bytes", "load_blocks", "format_text", "terminal_safe", "run", "add_arguments"]

KINDS = {
    "certificate": "X.509 certificate",
    "csr": "PKCS#10 certification request",
    "certs-only": "CMS certs-only bundle",
    "csr-attributes": "EST CSR attributes",
    "pki-data": "CMC PKIData (request)",
    "pki-response": "CMC PKIResponse",
    "enveloped-data": "CMS EnvelopedData",
    "private-key": "private key",
    "signed-data": "CMS SignedData",
    "public-key": "public key (SubjectPublicKeyInfo)",
    "pkcs12": "PKCS#12 (PFX)",
}

_oid_name = _oids.oid_name  # names and labels come from the one table, estcodec.oids.OID_NAMES
_oid_label = _oids.oid_label


def _hex(data: bytes | None) -> str | None:
    return None if data is None else bytes(data).hex()


def _time(value: _dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------------------------- keys


def describe_public_key(spki: Any) -> str:
    """``"EC P-256"``, ``"RSA 2048"``, ``"Ed25519"``... for a SubjectPublicKeyInfo model."""
    try:
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

        key = spki.to_cryptography()
        if isinstance(key, rsa.RSAPublicKey):
            return f"RSA {key.key_size}"
        if isinstance(key, ec.EllipticCurvePublicKey):
            return "EC " + {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(
                key.curve.name, key.curve.name)
        if isinstance(key, ed25519.Ed25519PublicKey):
            return "Ed25519"
        if isinstance(key, ed448.Ed448PublicKey):
            return "Ed448"
        if isinstance(key, x25519.X25519PublicKey):
            return "X25519"
        if isinstance(key, x448.X448PublicKey):
            return "X448"
        if isinstance(key, dsa.DSAPublicKey):
            return f"DSA {key.key_size}"
    except Exception:  # an algorithm cryptography does not load: name it by OID
        pass
    return _oid_name(spki.algorithm_oid)


def _describe_private_key(info: Any) -> str:
    try:
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519

        key = info.to_cryptography()
        if isinstance(key, rsa.RSAPrivateKey):
            return f"RSA {key.key_size}"
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return "EC " + {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(
                key.curve.name, key.curve.name)
        for cls, name in ((ed25519.Ed25519PrivateKey, "Ed25519"), (ed448.Ed448PrivateKey, "Ed448"),
                          (x25519.X25519PrivateKey, "X25519"), (x448.X448PrivateKey, "X448")):
            if isinstance(key, cls):
                return name
        if isinstance(key, dsa.DSAPrivateKey):
            return f"DSA {key.key_size}"
    except Exception:
        pass
    return _oid_name(info.algorithm_oid)


# ----------------------------------------------------------------------------------------------- summaries


def _general_name(gn: Any) -> str:
    return openssl_general_name(gn)


def _extension_names(extensions: Any) -> list[str]:
    out = []
    for e in extensions or ():
        out.append(_oid_name(e.oid) + (" (critical)" if e.critical else ""))
    return out


def summarize_certificate(cert: Any, *, now: _dt.datetime | None = None) -> dict[str, Any]:
    """Subject, issuer, serial, validity, key type, usages and fingerprint of a certificate model."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    nb, na = cert.not_before, cert.not_after
    if now < nb:
        state = "not yet valid"
    elif now > na:
        state = "expired"
    else:
        state = f"valid, {(na - now).days} days left"
    out: dict[str, Any] = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": serial_hex(cert.serial_number),
        "not_before": _time(nb),
        "not_after": _time(na),
        "validity": state,
        "key": describe_public_key(cert.public_key_info),
        "signature_algorithm": _oid_name(cert.signature_algorithm_oid),
        "ca": bool(cert.is_ca),
        "self_issued": bool(cert.is_self_issued),
    }
    try:
        ku = cert.key_usage
        if ku:
            out["key_usage"] = sorted(ku)
        eku = cert.extended_key_usage
        if eku:
            out["extended_key_usage"] = [_oid_name(o) for o in eku]
        sans = cert.subject_alt_names
        if sans:
            out["subject_alt_names"] = [_general_name(g) for g in sans]
        ski = cert.subject_key_identifier
        if ski:
            out["subject_key_identifier"] = _hex(ski)
    except Error:
        pass
    out["extensions"] = _extension_names(cert.extensions)
    out["sha256_fingerprint"] = hashlib.sha256(cert.to_der()).hexdigest()
    return out


def _short_certificate(cert: Any) -> dict[str, Any]:
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": serial_hex(cert.serial_number),
        "not_after": _time(cert.not_after),
        "key": describe_public_key(cert.public_key_info),
        "ca": bool(cert.is_ca),
    }


def _summarize_csr(der: bytes) -> dict[str, Any]:
    from .pkcs10 import CertificationRequest

    csr = CertificationRequest.from_der(der, ber=_is_ber(der))
    out: dict[str, Any] = {
        "subject": csr.subject.rfc4514_string(),
        "key": describe_public_key(csr.public_key_info),
        "signature_algorithm": _oid_name(csr.signature_algorithm_oid),
        "signature_valid": bool(csr.is_signature_valid),
        "attributes": [_oid_name(a.oid) for a in csr.attributes],
    }
    try:
        out["extensions"] = _extension_names(csr.extensions)
        for e in csr.extensions:
            if e.oid == _oids.ID_CE_SUBJECT_ALT_NAME:
                out["subject_alt_names"] = [_general_name(g) for g in getattr(e, "parsed")]
    except Error as exc:
        out["extensions"] = f"unreadable: {exc}"
    try:
        # its value may be a tls-unique binding or a secret: say whether it is there, never what it is
        out["challenge_password"] = "present" if csr.challenge_password is not None else "absent"
    except Error:
        out["challenge_password"] = "malformed"
    return out


def _summarize_certificate_der(der: bytes) -> dict[str, Any]:
    from .x509 import Certificate

    return summarize_certificate(Certificate.from_der(_to_der(der)))


def _csrattr_value(attr_oid: str, value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "DER " + bytes(value).hex()
    if isinstance(value, list):  # extensionRequest: a list of Extension
        return "extensions " + ", ".join(_oid_name(e.oid) for e in value)
    if isinstance(value, str):
        return _oid_name(value) if attr_oid != _oids.PKCS_9_AT_CHALLENGE_PASSWORD else value
    if hasattr(value, "key_algorithm_oid"):  # RFC 9908 template
        return "CertificationRequestInfoTemplate"
    return str(value)


def _summarize_csrattrs(der: bytes) -> dict[str, Any]:
    from .csrattrs import CsrAttrs, CsrAttribute, Unrecognized

    attrs = CsrAttrs.from_der(der)
    items: list[Any] = []
    for it in attrs.items:
        if isinstance(it, str):
            items.append(_oid_label(it))
        elif isinstance(it, CsrAttribute):
            items.append({_oid_label(it.oid): [_csrattr_value(it.oid, v) for v in it.typed_values]})
        elif isinstance(it, Unrecognized):
            items.append("unrecognized element " + it.der[:16].hex() + ("..." if len(it.der) > 16 else ""))
    out: dict[str, Any] = {"count": len(attrs), "items": items}
    kt = attrs.key_types
    if kt:
        out["key_types"] = [
            _oid_name(k.algorithm)
            + (f" {_oid_name(k.curve)}" if k.curve else "")
            + (f" {k.rsa_key_size} bits" if k.rsa_key_size else "")
            for k in kt
        ]
    out["challenge_password_requested"] = bool(attrs.challenge_password_requested)
    tpl = attrs.template
    if tpl is not None:
        t: dict[str, Any] = {}
        subj = tpl.subject_template
        if subj is not None:
            t["subject"] = [
                [f"{_oid_name(o)}={'<to fill>' if v is None else 'set'}" for o, v in rdn] for rdn in subj
            ]
        if tpl.key_algorithm_oid:
            t["key_algorithm"] = _oid_name(tpl.key_algorithm_oid)
            if tpl.curve:
                t["curve"] = _oid_name(tpl.curve)
            if tpl.rsa_key_size:
                t["rsa_key_size"] = tpl.rsa_key_size
        ext = tpl.extension_templates
        if ext:
            t["extensions"] = [_oid_name(e.oid) + ("" if e.value is not None else " (value to fill)") for e in ext]
        out["template"] = t
    return out


def _status_name(value: Any) -> str:
    name = getattr(value, "name", None)
    return name.lower() if name else str(value)


def _control_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        b = bytes(value)
        return b.hex() if len(b) <= 64 else b[:64].hex() + f"... ({len(b)} bytes)"
    if isinstance(value, (int, str)):
        return value
    return type(value).__name__


def _controls(msg: Any) -> list[dict[str, Any]]:
    out = []
    for c in msg.control_sequence:
        values = [_control_value(v) for v in c.attr_values]
        item: dict[str, Any] = {"type": _oid_name(c.attr_type), "body_part_id": c.body_part_id}
        if values:
            item["value"] = values[0] if len(values) == 1 else values
        out.append(item)
    return out


def _nested_body_parts(msg: Any) -> dict[str, Any]:
    """The cmsSequence (nested CMS content) and otherMsgSequence body parts, by id and type."""
    cms: list[str] = []
    for t in msg.cms_sequence:
        raw = t.content_info
        ct = _content_type(raw.to_der() if hasattr(raw, "to_der") else bytes(raw)) if raw is not None else None
        cms.append(f"{t.body_part_id}: {_oid_name(ct) if ct else 'content'}")
    other = [f"{m.body_part_id}: {_oid_name(m.other_msg_type)}" for m in msg.other_msg_sequence]
    return {"cms_sequence": cms, "other_msg_sequence": other}


def _summarize_pki_response(der: bytes, trust: Any = None) -> dict[str, Any]:
    from .cmc import parse_pki_response

    signed = _content_type(der) in (_oids.ID_SIGNED_DATA,)
    resp = parse_pki_response(der, signer_trust=trust if signed else None)
    statuses = []
    for s in resp.statuses:
        item: dict[str, Any] = {
            "status": _status_name(s.status),
            "body_list": [list(b) if isinstance(b, tuple) else b for b in s.body_list],
        }
        if s.status_string:
            item["status_string"] = s.status_string
        if s.fail_info is not None:
            from .cmc import describe_fail_info

            item["fail_info"] = f"{_status_name(s.fail_info)}: {describe_fail_info(int(s.fail_info))}"
        if s.pending_info is not None:
            item["pend_info"] = {"pend_token": _hex(s.pending_info.pend_token),
                                 "pend_time": _time(s.pending_info.pend_time)}
        statuses.append(item)
    out: dict[str, Any] = {
        "signed": signed,
        "status": _status_name(resp.status),
        "statuses": statuses,
    }
    if trust is not None:
        out["signature_verified"] = bool(resp.signature_verified)
    if resp.transaction_id is not None:
        out["transaction_id"] = resp.transaction_id
    out["controls"] = _controls(resp)
    out["body_parts"] = resp.body_part_ids()
    out.update(_nested_body_parts(resp))
    out["certificates"] = [_short_certificate(c) for c in resp.certificates]
    return out


def _summarize_pki_data(der: bytes, trust: Any = None) -> dict[str, Any]:
    from .cmc import parse_pki_data

    signed = _content_type(der) == _oids.ID_SIGNED_DATA
    pki = parse_pki_data(der, signer_trust=trust if signed else None)
    requests = []
    req_sequence: Any = pki.req_sequence
    for r in req_sequence:
        item: dict[str, Any] = {"body_part_id": r.body_part_id, "kind": {"tcr": "PKCS#10", "crm": "CRMF",
                                                                         "orm": "other"}.get(r.name, r.name)}
        if r.name == "tcr":
            csr = r.value.certification_request
            if not isinstance(csr, (bytes, bytearray)):
                item["subject"] = csr.subject.rfc4514_string()
                item["key"] = describe_public_key(csr.public_key_info)
        requests.append(item)
    out: dict[str, Any] = {"signed": signed}
    if trust is not None:
        out["signature_verified"] = bool(pki.signature_verified)
    if pki.transaction_id is not None:
        out["transaction_id"] = pki.transaction_id
    out["controls"] = _controls(pki)
    out["requests"] = requests
    out["body_parts"] = pki.body_part_ids()
    out.update(_nested_body_parts(pki))
    out["certificates"] = [_short_certificate(c) for c in pki.certificates]
    return out


def _recipient(ri: Any) -> dict[str, Any]:
    kind = type(ri).__name__
    out: dict[str, Any]
    if kind == "KeyTransRecipientInfo":
        out = {"type": "key transport (ktri)", "key_encryption": _oid_name(ri.key_encryption_algorithm.algorithm)}
        rid = ri.rid
        if rid.name == "issuer_and_serial_number":
            out["recipient"] = (f"issuer {rid.value.issuer.rfc4514_string()}, "
                                f"serial {serial_hex(rid.value.serial_number)}")
        else:
            out["recipient"] = f"subject key identifier {_hex(rid.value)}"
    elif kind == "KeyAgreeRecipientInfo":
        out = {"type": "key agreement (kari)", "key_encryption": _oid_name(ri.key_encryption_algorithm.algorithm)}
        orig = ri.originator
        out["originator"] = {"originator_key": "ephemeral public key",
                             "subject_key_identifier": "subject key identifier",
                             "issuer_and_serial_number": "issuer and serial"}.get(orig.name, orig.name)
        recips = []
        for rek in ri.recipient_encrypted_keys:
            if rek.rid.name == "issuer_and_serial_number":
                recips.append(f"issuer {rek.rid.value.issuer.rfc4514_string()}, "
                              f"serial {serial_hex(rek.rid.value.serial_number)}")
            else:
                recips.append(f"subject key identifier {_hex(rek.rid.value.subject_key_identifier)}")
        out["recipients"] = recips
    elif kind == "KEKRecipientInfo":
        out = {"type": "key-encryption key (kekri)", "kek_id": _hex(ri.kekid.key_identifier),
               "key_encryption": _oid_name(ri.key_encryption_algorithm.algorithm)}
    elif kind == "PasswordRecipientInfo":
        out = {"type": "password (pwri)", "key_encryption": _oid_name(ri.key_encryption_algorithm.algorithm)}
        if ri.key_derivation_algorithm is not None:
            out["key_derivation"] = _oid_name(ri.key_derivation_algorithm.algorithm)
    else:
        out = {"type": "other (ori)", "ori_type": _oid_name(getattr(ri, "ori_type", "?"))}
    return out


def _summarize_enveloped(der: bytes) -> dict[str, Any]:
    from .enveloped import AuthEnvelopedData, parse_enveloped_data

    env = parse_enveloped_data(der)
    alg = env.content_encryption_algorithm
    alg_oid = alg.value if hasattr(alg, "value") else str(alg)
    content = env.encrypted_content
    out: dict[str, Any] = {
        "variant": "AuthEnvelopedData" if isinstance(env, AuthEnvelopedData) else "EnvelopedData",
        "version": env.version,
        "content_type": _oid_name(env.content_type),
        "content_encryption": _oid_name(alg_oid),
        "encrypted_content": "detached" if content is None else f"{len(content)} bytes",
        "recipients": [_recipient(r) for r in env.recipients],
    }
    if env.content_type == _oids.ID_SIGNED_DATA:
        out["note"] = "encrypted SignedData: the shape of an RFC 7030 server-generated key"
    return out


def _summarize_private_key(der: bytes) -> dict[str, Any]:
    from . import pkcs8

    shape = pkcs8._shape(der)
    if shape == "encrypted":
        epki = pkcs8.EncryptedPrivateKeyInfo.from_der(der)
        alg = epki.encryption_algorithm.algorithm
        return {"format": "encrypted PKCS#8 (EncryptedPrivateKeyInfo)", "encryption": _oid_name(alg),
                "encrypted_bytes": len(epki.encrypted_data)}
    info = pkcs8.parse_private_key(der)
    fmt = {"pkcs8": "PKCS#8" if info.version == 0 else "OneAsymmetricKey v2 (RFC 5958)",
           "pkcs1": "PKCS#1 RSAPrivateKey", "sec1": "SEC1 ECPrivateKey"}.get(shape, shape)
    out: dict[str, Any] = {"format": fmt, "algorithm": _oid_name(info.algorithm_oid),
                           "key": _describe_private_key(info)}
    if info.public_key_bytes is not None:
        out["public_key_included"] = True
    out["note"] = "private key material is not shown"
    return out


def _summarize_public_key(der: bytes) -> dict[str, Any]:
    from .x509 import SubjectPublicKeyInfo

    spki = SubjectPublicKeyInfo.from_der(der)
    return {"algorithm": _oid_name(spki.algorithm_oid), "key": describe_public_key(spki),
            "key_identifier": _hex(spki.key_identifier())}


def _summarize_signed_data(der: bytes) -> dict[str, Any]:
    from .cms import parse_signed_data

    sd = parse_signed_data(der)
    return {
        "content_type": _oid_name(sd.econtent_type),
        "content": "absent" if sd.econtent is None else f"{len(sd.econtent)} bytes",
        "signers": len(sd.signer_infos),
        "digest_algorithms": [_oid_name(a.algorithm) for a in sd.digest_algorithms],
        "certificates": [_short_certificate(c) for c in sd.certificate_list],
    }


def _summarize_certs_only(der: bytes) -> dict[str, Any]:
    from .cms import parse_certs_only

    certs = parse_certs_only(der)
    return {"count": len(certs), "certificates": [_short_certificate(c) for c in certs]}


# ----------------------------------------------------------------------------------------------- recognition


def _encoding(data: bytes) -> str:
    """``"DER"``, ``"BER"``, or ``"lenient"`` for data whose framing decodes but whose primitive values are not
    strictly valid (as in some of libest's CSR attribute test blobs)."""
    try:
        _der.parse(data)
        return "DER"
    except DecodeError:
        pass
    try:
        _der.parse(data, ber=True)
        return "BER"
    except DecodeError:
        return "lenient"


def _is_ber(data: bytes) -> bool:
    return _encoding(data) == "BER"


def _to_der(data: bytes) -> bytes:
    """The DER form of ``data`` (BER input is normalised; models then decode strictly). Data that does not
    parse without a schema is returned as is, for the lenient models (CsrAttrs) to judge."""
    try:
        _der.parse(data)
        return data
    except DecodeError:
        pass
    try:
        return _der.parse(data, ber=True).to_der()
    except DecodeError:
        return data


def _content_type(data: bytes) -> str | None:
    """The contentType of a ContentInfo, or None when ``data`` is not shaped like one."""
    from .cms import content_type_of

    return content_type_of(data)


def _signed_data_kind(data: bytes) -> str:
    from .cms import parse_signed_data

    sd = parse_signed_data(data)
    if sd.econtent_type == _oids.ID_CCT_PKI_DATA:
        return "pki-data"
    if sd.econtent_type == _oids.ID_CCT_PKI_RESPONSE:
        return "pki-response"
    if sd.econtent_type == _oids.ID_DATA and sd.econtent is None and not sd.signer_infos:
        return "certs-only"
    return "signed-data"


def _try(func: Callable[[bytes], Any], der: bytes) -> bool:
    try:
        func(der)
        return True
    except (Error, ValueError):
        return False


def _csrattrs_like(der: bytes) -> bool:
    """CsrAttrs keeps elements that are neither an OID nor an Attribute raw (libest's test blobs hold a stray
    BOOLEAN). Accept such strays only when they are primitive and the rest is OIDs and attributes; a SEQUENCE
    holding constructed unknowns (an Attribute of another kind, say) is something else."""
    from .csrattrs import CsrAttrs

    try:
        attrs = CsrAttrs.from_der(der)
    except (Error, ValueError):
        return False
    strays = attrs.unrecognized
    if not strays:
        return True
    return len(strays) < len(attrs.items) and all(not (d[0] & 0x20) for d in strays)


def identify(data: bytes) -> str:
    """The kind (a key of :data:`KINDS`) of the DER/BER structure in ``data``; raises DecodeError when it is
    none of them."""
    from . import pkcs8

    try:
        top = _der.parse(data, ber=True)
    except DecodeError as exc:
        # Not even BER without a schema. CsrAttrs keeps odd values raw, so it may still read it.
        if _csrattrs_like(data):
            return "csr-attributes"
        raise exc
    ct = _content_type(data)
    if ct == _oids.ID_SIGNED_DATA:
        return _signed_data_kind(data)
    if ct in (_oids.ID_ENVELOPED_DATA, _oids.ID_CT_AUTH_ENVELOPED_DATA):
        return "enveloped-data"
    if ct == _oids.ID_CCT_PKI_DATA:
        return "pki-data"
    if ct == _oids.ID_CCT_PKI_RESPONSE:
        return "pki-response"
    if ct is not None:
        raise DecodeError(f"a CMS ContentInfo of type {_oid_label(ct)}, which this tool does not summarise", 0,
                          "unsupported")
    if not (top.tag_class == "universal" and top.tag == 16 and top.constructed):
        raise DecodeError("not a PKI structure: the outer element is not a SEQUENCE", 0, "unexpected-tag")
    if is_pkcs12(data):
        return "pkcs12"
    from .x509 import Certificate

    der = _to_der(data)
    if _try(Certificate.from_der, der):
        return "certificate"
    from .pkcs10 import CertificationRequest

    if _try(CertificationRequest.from_der, der):
        return "csr"
    try:
        shape = pkcs8._shape(der)
    except Error:
        shape = "unknown"
    if shape in ("pkcs8", "pkcs1", "sec1", "encrypted") and _try(_summarize_private_key, der):
        return "private-key"
    if _try(_summarize_public_key, der):
        return "public-key"
    from .cmc import PKIData, PKIResponse

    if _try(lambda d: PKIData.from_der(d).validate(), der):
        return "pki-data"
    if _try(lambda d: PKIResponse.from_der(d).validate(), der):
        return "pki-response"
    from .enveloped import AuthEnvelopedData, EnvelopedData

    if _try(EnvelopedData.from_der, der) or _try(AuthEnvelopedData.from_der, der):
        return "enveloped-data"
    if _csrattrs_like(der):
        return "csr-attributes"
    raise DecodeError("not a structure this tool recognises (certificate, CSR, certs-only, CSR attributes, "
                      "CMC PKIData/PKIResponse, EnvelopedData, private key)", 0, "unsupported")


_SUMMARIZERS: dict[str, Callable[..., dict[str, Any]]] = {
    "certificate": lambda d, t: _summarize_certificate_der(d),
    "csr": lambda d, t: _summarize_csr(d),
    "certs-only": lambda d, t: _summarize_certs_only(d),
    "csr-attributes": lambda d, t: _summarize_csrattrs(_to_der(d)),
    "pki-data": _summarize_pki_data,
    "pki-response": _summarize_pki_response,
    "enveloped-data": lambda d, t: _summarize_enveloped(d),
    "private-key": lambda d, t: _summarize_private_key(_to_der(d)),
    "signed-data": lambda d, t: _summarize_signed_data(d),
    "public-key": lambda d, t: _summarize_public_key(_to_der(d)),
    "pkcs12": lambda d, t: summarize_pkcs12(d),
}


def summarize_as(kind: str, data: bytes, *, trust: Any = None) -> dict[str, Any]:
    """Like :func:`summarize` for data already known to be of ``kind`` (a key of :data:`KINDS`)."""
    data = bytes(data)
    out: dict[str, Any] = {"type": kind, "name": KINDS[kind], "encoding": _encoding(data), "size": len(data)}
    out.update(_SUMMARIZERS[kind](data, trust))
    return out


def summarize(data: bytes, *, trust: Any = None) -> dict[str, Any]:
    """``{"type": kind, "name": ..., "encoding": "DER"|"BER", "size": n, ...}`` for DER/BER ``data``.

    ``trust`` (PEM bytes of CA certificates) verifies the signature of a signed PKIData/PKIResponse; without it
    nothing is verified and the summary says so. Raises :class:`estcodec.Error` subclasses.
    """
    data = bytes(data)
    return summarize_as(identify(data), data, trust=trust)


def load_blocks(data: bytes) -> list[tuple[str | None, bytes]]:
    """``(pem_label, der)`` for every PEM block of ``data``, or ``[(None, der)]`` for DER, BER or base64."""
    if b"-----BEGIN" in data:
        return [(label, der) for label, der in _pem.decode(data)]
    return [(None, _pem.load_any(data))]


def summarize_bytes(data: bytes, *, trust: Any = None) -> list[dict[str, Any]]:
    """One summary per structure in ``data`` (every PEM block, or the one DER/BER/base64 structure)."""
    out = []
    for label, der in load_blocks(data):
        s = summarize(der, trust=trust)
        if label is not None:
            s["pem_label"] = label
        out.append(s)
    return out


# ----------------------------------------------------------------------------------------------- command line


def add_arguments(p: Any) -> None:
    """The arguments of the ``show`` subcommand (shared by ``est show`` and ``python -m estcodec show``)."""
    from ._show_cli import add_arguments as add

    add(p)


def run(args: Any, *, prog: str | None = None) -> int:
    """Entry point of ``show``: 0 when every file was summarised, 1 when one was unreadable or unrecognised
    (one line on stderr for each such file: ``error: REASON``, or ``PROG: error: REASON`` given ``prog``, as
    ``est show`` does)."""
    from ._show_cli import run as run_show

    return run_show(args, prog=prog)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
