"""Seeds for the model harnesses.

    python fuzz/make_model_seeds.py              # write fuzz/corpus/<harness>/ for atheris (git-ignored)
    python fuzz/make_model_seeds.py --generate   # (re)make the committed hand-built seeds in fuzz/seeds/

Two sources:

* the vectors (tests/vectors and the installed ``cryptography_vectors``), filtered per harness by its own
  decoder (``collect_seeds()`` of each ``fuzz_<target>.py``, see ``fuzz/_models.py``);
* messages no public vector set has, built once with the package's own builders and committed under
  ``fuzz/seeds/<harness>/``: EnvelopedData for the fixed keys the EnvelopedData harness decrypts with (AES-KW
  KEK ``0102...0F00``/``DEADBEEF`` as in the RustCrypto sample, password ``password`` with 1000 PBKDF2
  iterations, RSA key transport to RFC 4134 Bob), server-generated-key envelopes (RFC 7030 §4.4.2), signed and
  bare CMC PKIData/PKIResponse, signed with a throwaway key whose certificate is ``fuzz/seeds/signer-cert.pem``
  (the PKIResponse harness also verifies with it). ``--generate`` makes new keys and ciphertexts each time;
  the committed files are what the short runs use.

A third, for the CRL and OCSP harnesses: ``--copy-vectors`` copies the CRLs and OCSP messages of the installed
``cryptography_vectors`` (x509/custom/crl_* and *_crl, x509/ocsp/*; PEM unwrapped to DER) into ``fuzz/seeds/crl/`` and
``fuzz/seeds/ocsp/``, named after their source, and the certificates the CRL harness verifies with into
``fuzz/seeds/crl-issuers/`` (RFC 4134 Carl's RSA and DSA certificates from tests/vectors, cryptography's
valid_signature_cert.pem), so that those harnesses keep their seeds without cryptography_vectors installed
(provenance: fuzz/seeds/README.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(FUZZ_DIR))

import _models  # noqa: E402

SEEDS = FUZZ_DIR / "seeds"


def _signer():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "estcodec fuzz seed signer")])
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x5EED).not_valid_before(now).not_valid_after(now + dt.timedelta(days=36500))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def generate() -> dict[str, dict[str, bytes]]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from estcodec import cmc, enveloped as env
    from estcodec.pkcs10 import CertificationRequestBuilder

    keys = _models.fixed_keys()
    kek, kek_id = keys["kek"], keys["kek_id"]
    bob_cert = x509.load_der_x509_certificate((_models.VECTORS / "rfc4134" / "BobRSASignByCarl.cer").read_bytes())
    signer_key, signer_cert = _signer()
    out: dict[str, dict[str, bytes]] = {"enveloped": {}, "pki_response": {}, "pki_data": {}}

    e = out["enveloped"]
    for alg in env.EncryptionAlgorithm:
        e[f"kek-{alg.name}.der"] = env.build_enveloped_data(b"fuzz seed content " * 3, [env.KEKRecipient(kek, kek_id)],
                                                            algorithm=alg)
    e["kek-bare.der"] = env.build_enveloped_data(b"x", [env.KEKRecipient(kek, kek_id)], content_info=False)
    e["pwri-aes128.der"] = env.build_enveloped_data(b"pw", [env.PasswordRecipient(b"password", iterations=1000)],
                                                    algorithm=env.EncryptionAlgorithm.AES128_CBC)
    e["ktri-v15.der"] = env.build_enveloped_data(b"rsa", [env.KeyTransRecipient(certificate=bob_cert)])
    e["ktri-oaep-ski.der"] = env.build_enveloped_data(
        b"rsa", [env.KeyTransRecipient(certificate=bob_cert, oaep=True, identify_by_ski=True)])
    e["multi.der"] = env.build_enveloped_data(
        b"multi", [env.KeyTransRecipient(certificate=bob_cert), env.KEKRecipient(kek, kek_id),
                   env.PasswordRecipient(b"password", iterations=1000)])
    served_key = ec.generate_private_key(ec.SECP256R1())
    e["servergen-kek.der"] = env.wrap_server_generated_key(
        served_key, [env.KEKRecipient(kek, kek_id)], signer_key=signer_key, signer_certificate=signer_cert)
    e["servergen-rsa-openssl-style.der"] = env.wrap_server_generated_key(
        served_key, [env.KeyTransRecipient(certificate=bob_cert)], signer_key=signer_key,
        signer_certificate=signer_cert, inner_content_type=env.ID_DATA)

    r = out["pki_response"]
    ok = cmc.PkiResponseBuilder().transaction_id(7).recipient_nonce(b"n" * 16).success().add_certificate(signer_cert)
    r["success-signed.der"] = ok.sign(signer_key, signer_cert)
    r["success-bare.der"] = ok.build().to_der()
    failed = cmc.PkiResponseBuilder().failed(cmc.CmcFailInfo.BAD_REQUEST, status_string="no")
    r["failed-signed.der"] = failed.sign(signer_key, signer_cert)
    r["failed-bare.der"] = failed.build().to_der()
    pend = cmc.PkiResponseBuilder().pending(b"token", dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    r["pending-signed.der"] = pend.sign(signer_key, signer_cert)

    d = out["pki_data"]
    req_key = ec.generate_private_key(ec.SECP256R1())
    csr = CertificationRequestBuilder(subject="CN=fuzz seed").sign(req_key)
    pki = cmc.PkiDataBuilder().transaction_id(9).sender_nonce(b"s" * 16).add_certification_request(csr).build()
    d["self-signed.der"] = cmc.sign_pki_data(pki, req_key)
    d["ra-signed.der"] = cmc.sign_pki_data(pki, signer_key, signer_cert)
    d["bare.der"] = pki.to_der()

    SEEDS.mkdir(exist_ok=True)
    (SEEDS / "signer-cert.pem").write_bytes(signer_cert.public_bytes(serialization.Encoding.PEM))
    for harness, files in out.items():
        folder = SEEDS / harness
        folder.mkdir(exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
    return out


def copy_vectors() -> dict[str, dict[str, bytes]]:
    """Copy the CRL and OCSP seeds and the CRL issuers from the vectors into fuzz/seeds/ (see the docstring)."""
    from estcodec import pem

    cv = _models._crypto_vectors_dir()
    if cv is None:
        raise SystemExit("cryptography_vectors is not installed")
    out: dict[str, dict[str, bytes]] = {"crl": {}, "ocsp": {}, "crl-issuers": {}}

    def der_of(path: Path) -> bytes:
        raw = path.read_bytes()
        return pem.load_any(raw) if raw.lstrip().startswith(b"-----") else raw

    for path in sorted((cv / "x509" / "custom").glob("*crl*")):
        if not (path.stem.startswith("crl_") or path.stem.endswith("_crl")):
            continue  # (cdp_*crl_issuer*, freshestcrl: certificates)
        if path.stat().st_size <= _models.MAX_SEED_SIZE:  # (crl_almost_10k.pem is read from the vectors)
            out["crl"][f"cryptography_vectors__x509__custom__{path.stem}.der"] = der_of(path)
    for path in sorted((cv / "x509" / "ocsp").iterdir()):
        out["ocsp"][f"cryptography_vectors__x509__ocsp__{path.stem}.der"] = der_of(path)
    for name in ("CarlRSASelf.cer", "CarlDSSSelf.cer"):
        out["crl-issuers"][f"rfc4134__{name}"] = (_models.VECTORS / "rfc4134" / name).read_bytes()
    out["crl-issuers"]["cryptography_vectors__x509__custom__valid_signature_cert.der"] = der_of(
        cv / "x509" / "custom" / "valid_signature_cert.pem")
    for folder, files in out.items():
        (SEEDS / folder).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (SEEDS / folder / name).write_bytes(data)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generate", action="store_true", help="rebuild the committed seeds in fuzz/seeds/")
    p.add_argument("--copy-vectors", action="store_true",
                   help="copy the CRL/OCSP seeds and CRL issuers of the vectors into fuzz/seeds/")
    args = p.parse_args(argv)
    if args.copy_vectors:
        for folder, files in copy_vectors().items():
            print(f"{len(files)} files -> {SEEDS / folder}")
        return 0
    if args.generate:
        for harness, files in generate().items():
            print(f"{len(files)} generated {harness} seeds -> {SEEDS / harness}")
        return 0
    sys.path.insert(0, str(FUZZ_DIR))
    import run_short

    for mod in run_short.load_harnesses(group="models"):
        seeds = mod.collect_seeds()
        folder = FUZZ_DIR / "corpus" / mod.NAME
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / name[:200]).write_bytes(data)
        print(f"{len(seeds)} {mod.NAME} seeds -> {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
