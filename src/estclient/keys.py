"""Where keys come from: key types, software key generation, key files (plain or encrypted) and token keys.

Everything that signs in estclient takes an :class:`estcodec.signer.Signer`; this module turns what a user names
into one:

- :func:`load_key` reads a key named by a *spec*: a file path (PEM or DER, PKCS#8, PKCS#1 or SEC1, encrypted or
  not) or an RFC 7512 ``pkcs11:`` URI (a key that never leaves its token, see :mod:`estclient.pkcs11`);
- :func:`generate_key` makes a new key of a :data:`KEY_TYPES` name, in memory or on a token;
- :func:`private_key_pem` and :func:`write_key_file` write a software key as PKCS#8, encrypted with the best
  encryption ``cryptography`` offers when a password is given, to a 0600 file written atomically.

Passwords come from an argument, a file (its first line) or an environment variable; they never appear in
messages. :data:`EC_CURVES` is the one table of the curves this client generates keys on.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from estcodec.signer import PublicKey, Signer, SoftwarePrivateKey, as_signer

from . import _atomic
from ._keyspec import is_pkcs11_uri
from .errors import ConfigError

__all__ = [
    "KEY_TYPES", "EC_CURVES", "KEY_PASSWORD_ENV", "generate_software_key", "key_type_of", "load_key",
    "generate_key", "load_private_key", "read_password", "private_key_pem", "write_key_file", "is_pkcs11_uri",
]

#: The key types a key can be generated as (``CsrBuilder.key_type``, ``RenewalConfig.key_type``, the CLI).
KEY_TYPES = (
    "ec-p256", "ec-p384", "ec-p521", "ec-brainpoolp256r1", "ec-brainpoolp384r1", "ec-brainpoolp512r1",
    "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", "ed448",
)
#: The EC key types and their ``cryptography`` curve classes.
EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ec-p256": ec.SECP256R1, "ec-p384": ec.SECP384R1, "ec-p521": ec.SECP521R1,
    "ec-brainpoolp256r1": ec.BrainpoolP256R1, "ec-brainpoolp384r1": ec.BrainpoolP384R1,
    "ec-brainpoolp512r1": ec.BrainpoolP512R1,
}
#: The environment variable :func:`load_key` reads a key file's password from when none is given.
KEY_PASSWORD_ENV = "EST_KEY_PASSWORD"

KeyLike = Union[Signer, SoftwarePrivateKey]
PasswordLike = Union[str, bytes, None]


def generate_software_key(key_type: str) -> SoftwarePrivateKey:
    """A new ``cryptography`` private key of ``key_type`` (one of :data:`KEY_TYPES`)."""
    if key_type in EC_CURVES:
        return ec.generate_private_key(EC_CURVES[key_type]())
    if key_type.startswith("rsa-") and key_type in KEY_TYPES:
        return rsa.generate_private_key(65537, int(key_type[4:]))
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ConfigError(f"key type must be one of {', '.join(KEY_TYPES)}")


def key_type_of(key: Union[KeyLike, PublicKey]) -> str:
    """The :data:`KEY_TYPES` name of a private key, a signer or a public key (:class:`ConfigError` when the
    key's type is not one this client can generate)."""
    public: object = key
    if not hasattr(key, "public_bytes"):  # a private key or a signer
        public = key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        for name, curve in EC_CURVES.items():
            if curve().name == public.curve.name:
                return name
    elif isinstance(public, rsa.RSAPublicKey):
        name = f"rsa-{public.key_size}"
        if name in KEY_TYPES:
            return name
    elif isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519"
    elif isinstance(public, ed448.Ed448PublicKey):
        return "ed448"
    raise ConfigError("the current key's type cannot be generated again; set RenewalConfig.key_type")


def _as_bytes(password: PasswordLike) -> Optional[bytes]:
    if password is None:
        return None
    if isinstance(password, str):
        password = password.encode("utf-8")
    if not isinstance(password, (bytes, bytearray)) or not password:
        raise ConfigError("a key password must be non-empty text or bytes")
    return bytes(password)


def read_password(
    password: PasswordLike = None, *, password_file: Union[str, os.PathLike[str], None] = None,
    env: Optional[str] = None,
) -> Optional[bytes]:
    """The password given, else the first line of ``password_file``, else the value of the environment variable
    ``env`` (when named and set), else None. The password is never part of an error message."""
    if password is not None:
        return _as_bytes(password)
    if password_file is not None:
        try:
            data = Path(password_file).read_bytes()
        except OSError as e:
            raise ConfigError(f"{os.fspath(password_file)}: cannot read the password file ({e.strerror})") from None
        line = data.split(b"\n", 1)[0].rstrip(b"\r")
        if not line:
            raise ConfigError(f"{os.fspath(password_file)}: the password file is empty")
        return line
    if env:
        value = os.environ.get(env)
        if value:
            return value.encode("utf-8")
    return None


def read_password_text(password_file: Union[str, os.PathLike[str]]) -> str:
    """The first line of ``password_file`` as text (an HTTP password): :func:`read_password`'s rule, and UTF-8.
    Every problem is a :class:`ConfigError` naming the file, never the password."""
    line = cast(bytes, read_password(password_file=password_file))  # a password file gives its first line or raises
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{os.fspath(password_file)}: the password file is not UTF-8") from None


def load_private_key(data: bytes, password: PasswordLike = None, *, source: str = "the key") -> SoftwarePrivateKey:
    """A ``cryptography`` private key from PEM or DER bytes (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1, legacy
    encrypted PEM). A wrong or missing password and unreadable input end in :class:`ConfigError` naming
    ``source``, never the password."""
    pw = _as_bytes(password)
    pem = b"-----BEGIN" in data
    loader = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        key = loader(data, password=pw)
    except TypeError:
        if pw is None:
            raise ConfigError(f"{source} is encrypted: give its password") from None
        key = loader(data, password=None)  # an unencrypted key given a password: accepted as it is
    except ValueError:
        if pw is not None or _looks_encrypted(data):
            raise ConfigError(f"{source}: wrong password or not a readable private key") from None
        raise ConfigError(f"{source}: not a readable private key") from None
    except Exception:  # cryptography's UnsupportedAlgorithm and the like
        raise ConfigError(f"{source}: not a readable private key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                            ed448.Ed448PrivateKey)):
        raise ConfigError(f"{source}: unsupported private key type {type(key).__name__}")
    return key


def _looks_encrypted(data: bytes) -> bool:
    return b"ENCRYPTED" in data[:200]


def load_key(
    spec: str, *, password: PasswordLike = None, password_file: Union[str, os.PathLike[str], None] = None,
    pin: PasswordLike = None, pin_file: Union[str, os.PathLike[str], None] = None,
) -> Signer:
    """The key ``spec`` names, as a :class:`Signer`.

    - ``pkcs11:token=...;object=...`` (RFC 7512; ``id=``, ``module-path=``, ``pin-source=`` as in
      :mod:`estclient.pkcs11`): a token key; PIN from ``pin``, ``pin_file``, the URI's ``pin-source`` or
      ``EST_PKCS11_PIN``. Needs the ``pkcs11`` extra.
    - anything else is a key file (PEM or DER); an encrypted one is opened with ``password``, the first line of
      ``password_file`` or the environment variable ``EST_KEY_PASSWORD``.
    """
    if is_pkcs11_uri(spec):
        from . import pkcs11

        return pkcs11.load_signer(spec, pin=pin, pin_file=pin_file)
    path = os.fspath(spec)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the key file ({e.strerror})") from None
    pw = read_password(password, password_file=password_file, env=KEY_PASSWORD_ENV)
    return as_signer(load_private_key(data, pw, source=path))


def generate_key(
    spec_or_type: str, *, key_type: Optional[str] = None, pin: PasswordLike = None,
    pin_file: Union[str, os.PathLike[str], None] = None,
) -> Signer:
    """A new key. ``spec_or_type`` is a :data:`KEY_TYPES` name (a software key in memory, write it with
    :func:`write_key_file`) or a ``pkcs11:`` URI naming the token and the label/id of the new key; on a token
    ``key_type`` (default ``ec-p256``; ``ec-p256``, ``ec-p384``, ``rsa-2048``, ``rsa-3072``) chooses the type and
    the key is made sensitive and not extractable."""
    if is_pkcs11_uri(spec_or_type):
        from . import pkcs11

        return pkcs11.generate_signer(spec_or_type, key_type=key_type or "ec-p256", pin=pin, pin_file=pin_file)
    if key_type is not None and key_type != spec_or_type:
        raise ConfigError("give the key type once")
    return as_signer(generate_software_key(spec_or_type))


def private_key_pem(key: KeyLike, password: PasswordLike = None, *, encoding: str = "pem") -> bytes:
    """The key as PKCS#8 (``encoding`` ``"pem"`` or ``"der"``), encrypted with ``cryptography``'s
    BestAvailableEncryption when ``password`` is given. A signer whose key cannot leave its token raises
    :class:`ConfigError`."""
    signer = as_signer(key)
    if not signer.exportable:
        raise ConfigError(f"{signer!r}: the key cannot leave where it lives; it has no file form")
    pw = _as_bytes(password)
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(pw) if pw else serialization.NoEncryption())
    fmt = serialization.Encoding.PEM if encoding == "pem" else serialization.Encoding.DER
    return bytes(signer.private_key().private_bytes(fmt, serialization.PrivateFormat.PKCS8, enc))


def write_key_file(path: Union[str, os.PathLike[str]], key: KeyLike, password: PasswordLike = None, *,
                   overwrite: bool = False) -> None:
    """Write the key to ``path`` as PEM PKCS#8 (encrypted with ``password`` when given), mode 0600, atomically:
    the file appears complete or not at all. Without ``overwrite`` an existing file is an error."""
    data = private_key_pem(key, password)
    try:
        _atomic.write_atomic(path, data, 0o600, overwrite=overwrite)
    except FileExistsError:
        raise ConfigError(f"{os.fspath(path)} exists") from None
