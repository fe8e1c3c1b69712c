"""Checked by ``mypy --strict`` in tests/test_schema_typed.py (never imported by pytest): what a type checker
reads from model declarations. Each ``assert_type`` fails the check if the field's type seen by checkers drifts
from the Python value the schema gives at run time."""
import datetime as dt
from typing import Sequence

from typing_extensions import assert_type

from estcodec.pkcs10 import CertificationRequest
from estcodec.schema import BitStringValue
from estcodec.x509 import (
    AlgorithmIdentifier, Certificate, Extension, GeneralName, Name, NameAttributes, SubjectPublicKeyInfo, TBSCertificate,
)


def certificate_fields(cert: Certificate) -> None:
    tbs = cert.tbs_certificate
    assert_type(tbs, TBSCertificate)
    assert_type(tbs.version, int)
    assert_type(tbs.serial_number, int)
    assert_type(tbs.signature, AlgorithmIdentifier)
    assert_type(tbs.signature.algorithm, str)
    assert_type(tbs.signature.parameters, bytes | None)
    assert_type(tbs.issuer, Name)
    assert_type(tbs.validity.not_before, dt.datetime)
    assert_type(tbs.subject_public_key_info.subject_public_key, BitStringValue)
    assert_type(tbs.extensions, Sequence[Extension] | None)  # a lazy list past its first elements
    assert_type(cert.signature_value, BitStringValue)
    assert_type(Certificate.from_der(b""), Certificate)
    assert_type(cert.replace(), Certificate)
    assert_type(cert.subject_alt_names, list[GeneralName])
    assert_type(cert.key_usage, frozenset[str] | None)
    # the accessors declared with FieldPath
    assert_type(cert.serial_number, int)
    assert_type(cert.subject, Name)
    assert_type(cert.not_after, dt.datetime)
    assert_type(cert.extensions, Sequence[Extension])
    assert_type(cert.tbs_der, bytes)
    assert_type(cert.subject.attributes, NameAttributes)


def extension_fields(ext: Extension) -> None:
    assert_type(ext.extn_id, str)
    assert_type(ext.critical, bool)
    assert_type(ext.extn_value, bytes)


def request_fields(csr: CertificationRequest) -> None:
    assert_type(csr.certification_request_info.version, int)
    assert_type(csr.extensions, list[Extension])
    assert_type(csr.subject, Name)
    assert_type(csr.public_key_info, SubjectPublicKeyInfo)
    assert_type(csr.signature, bytes)
    assert_type(CertificationRequest.from_der(b""), CertificationRequest)
