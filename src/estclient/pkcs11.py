"""Keys that never leave their token: PKCS#11 through ``python-pkcs11`` (the ``pkcs11`` extra).

A token key is named by an RFC 7512 URI::

    pkcs11:token=my-token;object=device-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin

- ``token`` (the token label) and ``object`` (the key label) and/or ``id`` (the CKA_ID, percent-encoded octets)
  find the key; ``serial``, ``manufacturer`` and ``model`` narrow the token;
- the module is ``module-path`` or the environment variable ``EST_PKCS11_MODULE``;
- the PIN is the ``pin`` argument, the first line of ``pin_file``, the URI's ``pin-source`` (a file path or a
  ``file:`` URI), or ``EST_PKCS11_PIN``, in that order. ``pin-value`` is refused: a PIN does not belong on a
  command line. No message ever carries the PIN.

:func:`load_signer` opens an existing key, :func:`generate_signer` makes one on the token (EC P-256/P-384,
RSA 2048/3072; sensitive and not extractable). A :class:`Pkcs11Signer` signs with the token's mechanisms (ECDSA
over a digest computed here, its raw ``r || s`` turned into a DER ``Ecdsa-Sig-Value``; RSA PKCS#1 v1.5 and PSS),
can keep the issued certificate on the token beside its key (same label and id), and :func:`renew_on_token`
re-enrolls it: the new key is made on the token, the old pair removed only after the new certificate is stored.

Which key is current when a label names several (a renewal stopped half way) is decided by the certificates on
the token: the key whose certificate is newest wins, keys without a certificate lose. So at every step of a
renewal the token holds a working pair.
"""
from __future__ import annotations

import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from estcodec.errors import Error as EstcodecError
from estcodec import oids as _oids
from estcodec.schema import ObjectIdentifier, OctetString, decode, encode
from estcodec.signer import KeyNotExportable, PublicKey, SignatureScheme, SoftwarePrivateKey

from ._keyspec import is_pkcs11_uri
from . import _atomic
from .errors import ConfigError, ProtocolError

if TYPE_CHECKING:
    from .client import EstClient

__all__ = [
    "Pkcs11Uri", "Pkcs11Signer", "TokenError", "parse_uri", "load_signer", "generate_signer", "renew_on_token",
    "MODULE_ENV", "PIN_ENV", "TOKEN_KEY_TYPES",
]

MODULE_ENV = "EST_PKCS11_MODULE"
PIN_ENV = "EST_PKCS11_PIN"
#: Key types :func:`generate_signer` makes on a token.
TOKEN_KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072")
_CURVE_OIDS = {"ec-p256": _oids.SECP256R1, "ec-p384": _oids.SECP384R1}
_PATH_ATTRS = {"token", "object", "id", "type", "serial", "manufacturer", "model", "library-manufacturer",
               "library-description", "library-version", "slot-description", "slot-manufacturer", "slot-id"}
_QUERY_ATTRS = {"pin-source", "pin-value", "module-name", "module-path"}


class TokenError(ConfigError):
    """A token, its module or an object on it is missing or refuses the operation (wrong PIN, not a private key,
    no such token). The message names the token and object, never the PIN."""


@dataclass(frozen=True)
class Pkcs11Uri:
    """The parts of an RFC 7512 URI this client uses (text attributes percent-decoded, ``id`` as octets)."""

    token: Optional[str] = None
    object: Optional[str] = None
    id: Optional[bytes] = None
    type: Optional[str] = None
    serial: Optional[str] = None
    manufacturer: Optional[str] = None
    model: Optional[str] = None
    module_path: Optional[str] = None
    pin_source: Optional[str] = None
    other: tuple[tuple[str, str], ...] = field(default=())

    def describe(self) -> str:
        """The key's name for messages: token and object label or id (never a PIN)."""
        what = f"object {self.object!r}" if self.object is not None else (
            f"id {self.id.hex()}" if self.id is not None else "the key")
        return f"{what} on token {self.token!r}" if self.token is not None else what


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _pct(value: str, where: str) -> bytes:
    if _BAD_PERCENT.search(value):
        raise ConfigError(f"bad percent-encoding in the pkcs11 URI's {where}")
    return unquote_to_bytes(value)


def parse_uri(uri: str) -> Pkcs11Uri:
    """Parse an RFC 7512 ``pkcs11:`` URI; :class:`ConfigError` for anything malformed or a ``pin-value``."""
    if not is_pkcs11_uri(uri):
        raise ConfigError("a PKCS#11 key is named by a URI starting with 'pkcs11:'")
    body = uri[7:]
    path, _, query = body.partition("?")
    values: dict[str, bytes] = {}
    other: list[tuple[str, str]] = []
    for part, sep, known in ((path, ";", _PATH_ATTRS), (query, "&", _QUERY_ATTRS)):
        for item in part.split(sep) if part else ():
            name, eq, value = item.partition("=")
            name = name.strip().lower()
            if not eq or not name:
                raise ConfigError(f"malformed pkcs11 URI attribute {name or item[:20]!r}")
            if name == "pin-value":
                raise ConfigError("pin-value in a pkcs11 URI is refused: give the PIN with pin-source, a PIN file "
                                  f"or {PIN_ENV}")
            if name in values:
                raise ConfigError(f"the pkcs11 URI names {name!r} twice")
            if name not in known and name not in _PATH_ATTRS | _QUERY_ATTRS:
                other.append((name, value))
                continue
            values[name] = _pct(value, name)

    def text(name: str) -> Optional[str]:
        raw = values.get(name)
        if raw is None:
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"the pkcs11 URI's {name} is not UTF-8") from None

    return Pkcs11Uri(token=text("token"), object=text("object"), id=values.get("id"), type=text("type"),
                     serial=text("serial"), manufacturer=text("manufacturer"), model=text("model"),
                     module_path=text("module-path"), pin_source=text("pin-source"), other=tuple(other))


# ------------------------------------------------------------------------------------------- module and session

_LIBRARIES: dict[str, Any] = {}
_LOGINS: dict[tuple[str, Any], bytes] = {}  # (module, token serial) -> keyed digest of the PIN logged in with
_PIN_KEY = secrets.token_bytes(32)


def _pin_digest(pin: str) -> bytes:
    return hmac.new(_PIN_KEY, pin.encode("utf-8"), "sha256").digest()

_LIB_LOCK = threading.Lock()


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise ConfigError("PKCS#11 keys need python-pkcs11: pip install 'estclient[pkcs11]'") from None
    return pkcs11


def _library(uri: Pkcs11Uri) -> Any:
    path = uri.module_path or os.environ.get(MODULE_ENV)
    if not path:
        raise TokenError(f"no PKCS#11 module: give module-path in the URI or set {MODULE_ENV}")
    if not os.path.isfile(path):
        raise TokenError(f"PKCS#11 module not found: {path}")
    p11 = _pkcs11()
    with _LIB_LOCK:
        lib = _LIBRARIES.get(path)
        if lib is None:
            try:
                lib = p11.lib(path)
            except p11.exceptions.PKCS11Error as e:
                raise TokenError(f"cannot load the PKCS#11 module {path}: {type(e).__name__}") from None
            _LIBRARIES[path] = lib
    return lib


def _resolve_pin(uri: Pkcs11Uri, pin: Union[str, bytes, None],
                 pin_file: Union[str, os.PathLike[str], None]) -> str:
    from .keys import read_password

    source: Union[str, os.PathLike[str], None] = pin_file
    if source is None and uri.pin_source:
        src = uri.pin_source
        if src.startswith("|"):
            raise ConfigError("pin-source commands ('|...') are not run; give a PIN file")
        source = src[7:] if src.startswith("file://") else src[5:] if src.startswith("file:") else src
    value = read_password(pin, password_file=source, env=PIN_ENV)
    if value is None:
        raise TokenError(f"{uri.describe()} needs a PIN: give pin-source, a PIN file or set {PIN_ENV}")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the PIN is not UTF-8 text") from None


def _open_session(uri: Pkcs11Uri, pin: Union[str, bytes, None],
                  pin_file: Union[str, os.PathLike[str], None]) -> Any:
    p11 = _pkcs11()
    lib = _library(uri)
    pin_text = _resolve_pin(uri, pin, pin_file)
    criteria: dict[str, Union[str, bytes]] = {
        k: v for k, v in (("token_label", uri.token), ("token_manufacturer_id", uri.manufacturer),
                          ("token_model", uri.model)) if v is not None}
    if uri.serial is not None:
        criteria["token_serial"] = uri.serial.encode("utf-8")
    try:
        tokens = list(lib.get_tokens(**criteria))
    except p11.exceptions.PKCS11Error as e:
        raise TokenError(f"cannot list the tokens of {lib.so}: {type(e).__name__}") from None
    if not tokens:
        raise TokenError(f"no token {uri.token!r} in {lib.so}" if uri.token is not None else
                         f"no token in {lib.so}")
    if len(tokens) > 1:
        raise TokenError(f"{len(tokens)} tokens match the pkcs11 URI; name one with token= or serial=")
    token = tokens[0]
    login_key = (lib.so, bytes(token.serial) if isinstance(token.serial, (bytes, bytearray)) else str(token.serial))
    try:
        session = token.open(rw=True, user_pin=pin_text)
        _LOGINS[login_key] = _pin_digest(pin_text)
        return session
    except p11.exceptions.UserAlreadyLoggedIn:
        # PKCS#11 logs in the application, not the session: another open session of this process is logged in.
        # Its PIN was checked then; this one must be the same PIN.
        known = _LOGINS.get(login_key)
        if known is None or not hmac.compare_digest(known, _pin_digest(pin_text)):
            raise TokenError(f"the PIN for token {token.label!r} was refused") from None
        return token.open(rw=True)
    except (p11.exceptions.PinIncorrect, p11.exceptions.PinInvalid, p11.exceptions.PinLenRange):
        raise TokenError(f"the PIN for token {token.label!r} was refused") from None
    except p11.exceptions.PinLocked:
        raise TokenError(f"the PIN of token {token.label!r} is locked") from None
    except p11.exceptions.PKCS11Error as e:
        raise TokenError(f"cannot log in to token {token.label!r}: {type(e).__name__}") from None


# ------------------------------------------------------------------------------------------- finding objects


def _objects(session: Any, cls: Any, label: Optional[str], key_id: Optional[bytes]) -> list[Any]:
    p11 = _pkcs11()
    attrs: dict[Any, Any] = {p11.Attribute.CLASS: cls}
    if label is not None:
        attrs[p11.Attribute.LABEL] = label
    if key_id is not None:
        attrs[p11.Attribute.ID] = key_id
    return list(session.get_objects(attrs))


def _certificate_of(session: Any, key_id: bytes) -> Optional[x509.Certificate]:
    """The newest X.509 certificate on the token with CKA_ID ``key_id``."""
    p11 = _pkcs11()
    best: Optional[x509.Certificate] = None
    for obj in _objects(session, p11.ObjectClass.CERTIFICATE, None, key_id):
        try:
            cert = x509.load_der_x509_certificate(bytes(obj[p11.Attribute.VALUE]))
        except (ValueError, p11.exceptions.PKCS11Error):
            continue
        if best is None or cert.not_valid_after_utc > best.not_valid_after_utc:
            best = cert
    return best


def _current_key(session: Any, uri: Pkcs11Uri) -> Any:
    """The private key ``uri`` names; among several with one label the one with the newest certificate."""
    p11 = _pkcs11()
    if uri.object is None and uri.id is None:
        raise ConfigError("the pkcs11 URI names no key: give object= (the label) or id=")
    keys = _objects(session, p11.ObjectClass.PRIVATE_KEY, uri.object, uri.id)
    if not keys:
        others = _objects(session, p11.ObjectClass.CERTIFICATE, uri.object, uri.id) + _objects(
            session, p11.ObjectClass.PUBLIC_KEY, uri.object, uri.id)
        if others:
            raise TokenError(f"{uri.describe()} is not a private key")
        raise TokenError(f"no private key {uri.describe()}")
    if len(keys) == 1:
        return keys[0]
    dated = []
    for k in keys:
        cert = _certificate_of(session, bytes(k[p11.Attribute.ID]))
        if cert is not None:
            dated.append((cert.not_valid_after_utc, cert.not_valid_before_utc, k))
    if not dated:
        raise TokenError(f"{len(keys)} private keys match {uri.describe()}; name one with id=")
    dated.sort(key=lambda t: (t[0], t[1]))
    return dated[-1][2]


def _public_key_of(session: Any, key: Any) -> PublicKey:
    """The public half of a token private key: its public key object, else its certificate."""
    p11 = _pkcs11()
    key_id = bytes(key[p11.Attribute.ID])
    pubs = _objects(session, p11.ObjectClass.PUBLIC_KEY, None, key_id)
    key_type = key[p11.Attribute.KEY_TYPE]
    for pub in pubs:
        try:
            if key_type == p11.KeyType.EC:
                params = bytes(pub[p11.Attribute.EC_PARAMS])
                point = decode(OctetString, bytes(pub[p11.Attribute.EC_POINT]))
                curve = _curve_of(decode(ObjectIdentifier, params))
                return ec.EllipticCurvePublicKey.from_encoded_point(curve, bytes(point))
            if key_type == p11.KeyType.RSA:
                n = int.from_bytes(bytes(pub[p11.Attribute.MODULUS]), "big")
                e = int.from_bytes(bytes(pub[p11.Attribute.PUBLIC_EXPONENT]), "big")
                return rsa.RSAPublicNumbers(e, n).public_key()
        except (EstcodecError, ValueError, p11.exceptions.PKCS11Error):
            continue
    cert = _certificate_of(session, key_id)
    if cert is not None:
        public = cert.public_key()
        if isinstance(public, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
            return public
    raise TokenError("the token holds no public key or certificate for the private key "
                     f"{key[p11.Attribute.LABEL]!r}; its public half cannot be found")


def _curve_of(curve_oid: str) -> ec.EllipticCurve:
    try:
        return ec.get_curve_for_oid(x509.ObjectIdentifier(curve_oid))()
    except LookupError:
        raise TokenError(f"the token key's curve {curve_oid} is not supported") from None


# ------------------------------------------------------------------------------------------- the signer

_RSA_MECHS = {"sha256": "SHA256_RSA_PKCS", "sha384": "SHA384_RSA_PKCS", "sha512": "SHA512_RSA_PKCS"}
_PSS_MECHS = {"sha256": ("SHA256_RSA_PKCS_PSS", "SHA256", "SHA256"), "sha384": ("SHA384_RSA_PKCS_PSS", "SHA384",
              "SHA384"), "sha512": ("SHA512_RSA_PKCS_PSS", "SHA512", "SHA512")}


class Pkcs11Signer:
    """A :class:`estcodec.signer.Signer` whose private key lives on a PKCS#11 token and never leaves it.

    It keeps one logged-in session open (signing is serialized through a lock); :meth:`close` ends it.
    """

    def __init__(self, session: Any, key: Any, uri: Pkcs11Uri) -> None:
        p11 = _pkcs11()
        self._session = session
        self._key = key
        self._uri = uri
        self._lock = threading.Lock()
        self._owns_session = True
        self.label: str = str(key[p11.Attribute.LABEL])
        self.key_id: bytes = bytes(key[p11.Attribute.ID])
        self._public = _public_key_of(session, key)

    @property
    def exportable(self) -> bool:
        """Always False: the key cannot leave the token."""
        return False

    @property
    def uri(self) -> str:
        """An RFC 7512 URI naming this key exactly (token, label and id; no module or PIN)."""
        from urllib.parse import quote

        parts = [f"object={quote(self.label, safe='')}", "id=" + "".join(f"%{b:02x}" for b in self.key_id)]
        if self._uri.token is not None:
            parts.insert(0, f"token={quote(self._uri.token, safe='')}")
        return "pkcs11:" + ";".join(parts)

    @property
    def token_label(self) -> Optional[str]:
        """The label of the token the key is on, as the URI gave it."""
        return self._uri.token

    def public_key(self) -> PublicKey:
        """The key's public half (read from the token once)."""
        return self._public

    def private_key(self) -> SoftwarePrivateKey:
        """Never: raises :class:`estcodec.signer.KeyNotExportable`."""
        raise KeyNotExportable(f"{self!r} cannot leave its token")

    def is_extractable(self) -> bool:
        """What the token says of CKA_EXTRACTABLE (False for keys this module generates)."""
        p11 = _pkcs11()
        return bool(self._key[p11.Attribute.EXTRACTABLE])

    def sign(self, data: bytes, scheme: SignatureScheme) -> bytes:
        """Sign on the token: ECDSA over a SHA-2 digest made here (DER ``Ecdsa-Sig-Value`` returned), RSA
        PKCS#1 v1.5 or PSS with the token's hash-and-sign mechanisms."""
        p11 = _pkcs11()
        h = scheme.hash
        if h is None:
            raise ValueError("token keys sign with ECDSA or RSA, which need a hash")
        with self._lock:
            try:
                if isinstance(self._public, ec.EllipticCurvePublicKey):
                    ctx = hashes.Hash(h)
                    ctx.update(data)
                    raw = bytes(self._key.sign(ctx.finalize(), mechanism=p11.Mechanism.ECDSA))
                    half = len(raw) // 2
                    if half == 0 or len(raw) % 2:
                        raise ProtocolError("the token returned a malformed ECDSA signature")
                    return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
                if scheme.rsa_padding == "pss":
                    if h.name not in _PSS_MECHS:
                        raise ValueError(f"no RSA-PSS mechanism for {h.name}")
                    mech, hmech, mgf = _PSS_MECHS[h.name]
                    param = (getattr(p11.Mechanism, hmech), getattr(p11.MGF, mgf), scheme.salt_length)
                    return bytes(self._key.sign(data, mechanism=getattr(p11.Mechanism, mech), mechanism_param=param))
                if scheme.rsa_padding not in (None, "pkcs1v15"):
                    raise ValueError(f"rsa_padding is 'pkcs1v15' or 'pss', not {scheme.rsa_padding!r}")
                name = _RSA_MECHS.get(h.name)
                if name is None:
                    raise ValueError(f"no RSA mechanism for {h.name}")
                return bytes(self._key.sign(data, mechanism=getattr(p11.Mechanism, name)))
            except p11.exceptions.PKCS11Error as e:
                raise TokenError(f"the token refused to sign with {self.label!r}: {type(e).__name__}") from None

    def certificate(self) -> Optional[x509.Certificate]:
        """The newest certificate stored on the token beside this key (same CKA_ID), or None."""
        with self._lock:
            return _certificate_of(self._session, self.key_id)

    def store_certificate(self, cert: Union[x509.Certificate, bytes]) -> None:
        """Keep ``cert`` (a ``cryptography`` certificate or DER) on the token with this key's label and id. The
        certificate must be for this key."""
        p11 = _pkcs11()
        if isinstance(cert, (bytes, bytearray)):
            cert = x509.load_der_x509_certificate(bytes(cert))
        if _spki(cert.public_key()) != _spki(self._public):
            raise ConfigError("the certificate is not for this token key")
        attrs = {
            p11.Attribute.CLASS: p11.ObjectClass.CERTIFICATE,
            p11.Attribute.CERTIFICATE_TYPE: p11.CertificateType.X_509,
            p11.Attribute.TOKEN: True, p11.Attribute.PRIVATE: False,
            p11.Attribute.LABEL: self.label, p11.Attribute.ID: self.key_id,
            p11.Attribute.SUBJECT: cert.subject.public_bytes(), p11.Attribute.ISSUER: cert.issuer.public_bytes(),
            p11.Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
            p11.Attribute.VALUE: cert.public_bytes(serialization.Encoding.DER),
        }
        with self._lock:
            try:
                self._session.create_object(attrs)
            except p11.exceptions.PKCS11Error as e:
                raise TokenError(f"the token refused to store the certificate of {self.label!r}: "
                                 f"{type(e).__name__}") from None

    def destroy(self) -> None:
        """Remove this key pair and its certificates from the token (renewal calls it for the old key, last)."""
        self._destroy(with_certificates=True)

    def _destroy(self, *, with_certificates: bool) -> None:
        p11 = _pkcs11()
        classes = [p11.ObjectClass.PUBLIC_KEY, p11.ObjectClass.PRIVATE_KEY]
        if with_certificates:
            classes.insert(0, p11.ObjectClass.CERTIFICATE)
        with self._lock:
            for cls in classes:
                for obj in _objects(self._session, cls, self.label, self.key_id):
                    obj.destroy()

    def close(self) -> None:
        """End the token session (the signer cannot sign afterwards). A signer replaced by
        :func:`renew_on_token` hands its session to the new signer and closes nothing."""
        if not self._owns_session:
            return
        with self._lock:
            try:
                self._session.close()
            except Exception:  # already closed or the token is gone: nothing left to release
                pass

    def __enter__(self) -> Pkcs11Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self.uri})"


def _spki(public: Any) -> bytes:
    return bytes(public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def _der_integer(value: int) -> bytes:
    from estcodec.schema import Integer

    return encode(Integer, value)


# ------------------------------------------------------------------------------------------- public entry points


def load_signer(uri: str, *, pin: Union[str, bytes, None] = None,
                pin_file: Union[str, os.PathLike[str], None] = None) -> Pkcs11Signer:
    """The token key ``uri`` names, logged in, as a :class:`Pkcs11Signer`. A missing module, token or key, a
    wrong PIN and an object that is not a private key each raise :class:`TokenError`."""
    parsed = parse_uri(uri)
    session = _open_session(parsed, pin, pin_file)
    try:
        return Pkcs11Signer(session, _current_key(session, parsed), parsed)
    except BaseException:
        session.close()
        raise


def _generate(session: Any, key_type: str, label: str, key_id: bytes) -> Any:
    """A key pair on the token: private half sensitive, not extractable, private; signing only where the token
    allows it. Some tokens make every key a sign-and-decrypt key and refuse a template that says otherwise
    (tpm2-pkcs11 does): then the key is made with the capabilities the token insists on."""
    p11 = _pkcs11()
    flags = p11.MechanismFlag
    private = {p11.Attribute.SENSITIVE: True, p11.Attribute.EXTRACTABLE: False, p11.Attribute.PRIVATE: True}
    last: Optional[BaseException] = None
    for caps in (flags.SIGN | flags.VERIFY, flags.SIGN | flags.VERIFY | flags.ENCRYPT | flags.DECRYPT):
        kw: dict[str, Any] = {"store": True, "label": label, "id": key_id, "capabilities": caps,
                              "private_template": private}
        try:
            if key_type in _CURVE_OIDS:
                params = session.create_domain_parameters(
                    p11.KeyType.EC, {p11.Attribute.EC_PARAMS: encode(ObjectIdentifier, _CURVE_OIDS[key_type])},
                    local=True)
                _pub, priv = params.generate_keypair(**kw)
            else:
                _pub, priv = session.generate_keypair(p11.KeyType.RSA, int(key_type[4:]), **kw)
            return priv
        except (p11.exceptions.GeneralError, p11.exceptions.TemplateInconsistent,
                p11.exceptions.AttributeValueInvalid) as e:
            last = e  # the token refused this template: try the next one
        except p11.exceptions.PKCS11Error as e:
            last = e
            break
    raise TokenError(f"the token could not generate a {key_type} key: {type(last).__name__}")


def generate_signer(uri: str, *, key_type: str = "ec-p256", pin: Union[str, bytes, None] = None,
                    pin_file: Union[str, os.PathLike[str], None] = None) -> Pkcs11Signer:
    """Generate a key pair on the token: label ``object=`` (required), CKA_ID ``id=`` or 16 random octets;
    the private key sensitive and not extractable. An existing private key with that label or id is an
    error (renewal makes its new key with :func:`renew_on_token`)."""
    if key_type not in TOKEN_KEY_TYPES:
        raise ConfigError(f"a token key type is one of {', '.join(TOKEN_KEY_TYPES)}")
    parsed = parse_uri(uri)
    if not parsed.object:
        raise ConfigError("generating a token key needs its label: object= in the pkcs11 URI")
    p11 = _pkcs11()
    session = _open_session(parsed, pin, pin_file)
    try:
        taken = _objects(session, p11.ObjectClass.PRIVATE_KEY, parsed.object, None)
        if parsed.id is not None:
            taken += _objects(session, p11.ObjectClass.PRIVATE_KEY, None, parsed.id)
        if taken:
            raise TokenError(f"{parsed.describe()}: a private key with that label or id exists already")
        key = _generate(session, key_type, parsed.object, parsed.id or secrets.token_bytes(16))
        return Pkcs11Signer(session, key, parsed)
    except BaseException:
        session.close()
        raise


def renew_on_token(client: EstClient, signer: Pkcs11Signer, *, key_type: Optional[str] = None,
                   cert_path: Union[str, os.PathLike[str], None] = None,
                   allow_without_identity: bool = False) -> Pkcs11Signer:
    """Re-enroll a token key (RFC 7030 §4.2.2) and return the signer of the new key.

    The current certificate is the one stored on the token beside ``signer``. A new key (``key_type``, default
    the current one's) is generated on the token under the same label with a fresh id, the request signed with
    it, the issued certificate checked against it and stored beside it, ``cert_path`` (if given) replaced
    atomically, and only then is the old pair removed. A crash before the new certificate is stored leaves
    the old pair current (the new key has no certificate and loses); after it, the new pair is current.
    ``allow_without_identity``: the client has no TLS client identity (a token key cannot be one, see
    docs/hardware-keys.md) and the server authenticates re-enrollment another way (HTTP credentials).
    """
    from .keys import key_type_of
    from .protocol import Issued
    from .renewal import renewal_csr_for

    current = signer.certificate()
    if current is None:
        raise ConfigError(f"{signer!r} has no certificate on the token to renew; store it first")
    kt = key_type or key_type_of(signer)
    if kt not in TOKEN_KEY_TYPES:
        raise ConfigError(f"a token key type is one of {', '.join(TOKEN_KEY_TYPES)}")
    with signer._lock:
        new_key = _generate(signer._session, kt, signer.label, secrets.token_bytes(16))
    new = Pkcs11Signer(signer._session, new_key, signer._uri)
    new._lock = signer._lock  # one session, one lock
    new._owns_session = False
    try:
        builder = renewal_csr_for(current).with_key(new)
        result = client.simple_reenroll(builder, allow_without_identity=allow_without_identity)
        if not isinstance(result, Issued):
            raise ProtocolError("the server has not issued the certificate yet (202); the old pair stays current")
        cert = result.certificate.to_cryptography()
        if _spki(cert.public_key()) != _spki(new.public_key()):
            raise ProtocolError("the re-enrollment response holds no certificate for the new token key")
    except BaseException:
        new._destroy(with_certificates=False)  # the failed attempt's key; the old pair was never touched
        raise
    new.store_certificate(cert)  # from here on the new pair is current
    if cert_path is not None:
        _atomic.write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    signer.destroy()
    signer._owns_session, new._owns_session = False, True  # the new signer now owns the session
    return new
