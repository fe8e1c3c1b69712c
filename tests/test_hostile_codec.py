"""Codec findings of the hostile-server issue (issue 12): the PBKDF2 budget of a whole message (finding 7) and
``DecodeError`` from every public decoder for input it cannot accept (finding 10).

The BER memory bound (finding 6) is in tests/test_ber_memory.py. Work is bounded by counting (PBKDF2
iterations asked for, through the one function that derives keys), never by timing.
"""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from estcodec import DecodeError, cmc, cms
from estcodec import _cms_crypto as cc
from estcodec import enveloped as E
from estcodec.enveloped import DecryptionError

# --------------------------------------------------------------------------------------------------------------
# Finding 7: max_pbkdf2_iterations is a budget for the whole message


class IterationCounter:
    """Stands in for ``_cms_crypto.pbkdf2`` (the one place keys are derived from passwords): records the
    iteration count of every derivation and derives with one iteration, so that a test can count the work a
    message would cause without doing it. The key comes out wrong for counts above 1, so unwrapping fails."""

    def __init__(self, real):
        self.real = real
        self.calls: list[int] = []

    def __call__(self, password, salt, iterations, length, *, prf_oid=cc.OID_HMAC_SHA1, max_iterations=None):
        self.calls.append(iterations)
        return self.real(password, salt, 1, length, prf_oid=prf_oid, max_iterations=None)

    @property
    def total(self) -> int:
        return sum(self.calls)


@pytest.fixture
def counter(monkeypatch):
    c = IterationCounter(cc.pbkdf2)
    monkeypatch.setattr(cc, "pbkdf2", c)
    return c


def _many_password_recipients(n: int, iterations: int, counter: IterationCounter) -> bytes:
    # built through the counter too: n derivations of one iteration each
    message = E.build_enveloped_data(b"secret", [E.PasswordRecipient(f"pw{i}", iterations=iterations)
                                                 for i in range(n)])
    counter.calls.clear()
    return message


def test_thousand_password_recipients_cost_one_budget(counter):
    """1,000 password recipients asking 20,000 iterations each (20 million in all; about a 115 KB message):
    decrypting with a wrong password does at most the default budget of iterations, then says why it stopped."""
    message = _many_password_recipients(1000, 20_000, counter)
    assert len(message) > 100_000
    with pytest.raises(E.PBKDF2BudgetExceeded) as excinfo:
        E.decrypt(message, password="wrong")
    assert counter.total <= cc.DEFAULT_MAX_PBKDF2_ITERATIONS
    assert len(counter.calls) == cc.DEFAULT_MAX_PBKDF2_ITERATIONS // 20_000   # 100 recipients tried, 900 not
    assert excinfo.value.budget == cc.DEFAULT_MAX_PBKDF2_ITERATIONS
    assert excinfo.value.needed > excinfo.value.budget
    assert isinstance(excinfo.value, DecryptionError)
    assert "budget" in str(excinfo.value) and "wrong" not in str(excinfo.value)


def test_budget_is_a_sum_over_recipients(counter):
    message = _many_password_recipients(50, 1_000, counter)
    with pytest.raises(E.PBKDF2BudgetExceeded):
        E.decrypt(message, password="wrong", max_pbkdf2_iterations=10_500)
    assert counter.calls == [1_000] * 10
    counter.calls.clear()
    with pytest.raises(DecryptionError) as excinfo:     # within the budget: every recipient tried, plain failure
        E.decrypt(message, password="wrong", max_pbkdf2_iterations=50_000)
    assert not isinstance(excinfo.value, E.PBKDF2BudgetExceeded)
    assert str(excinfo.value) == "decryption failed"
    assert counter.total == 50_000


def test_one_recipient_over_the_budget_is_refused_before_the_work(counter):
    message = _many_password_recipients(1, 30_000, counter)
    with pytest.raises(E.PBKDF2BudgetExceeded) as excinfo:
        E.decrypt(message, password="pw0", max_pbkdf2_iterations=20_000)
    assert counter.calls == []
    assert excinfo.value.needed == 30_000


def test_recipient_within_the_budget_still_decrypts(monkeypatch):
    # real derivations: 3 recipients of 1,000 iterations (in whatever order the SET OF puts them); a budget for
    # three reaches the right one wherever it is, a budget below one reaches none
    message = E.build_enveloped_data(b"secret", [E.PasswordRecipient(p, iterations=1_000)
                                                 for p in ("a", "b", "right")])
    assert E.decrypt(message, password="right", max_pbkdf2_iterations=3_000) == b"secret"
    with pytest.raises(E.PBKDF2BudgetExceeded):
        E.decrypt(message, password="right", max_pbkdf2_iterations=999)
    assert E.decrypt(message, password="right", max_pbkdf2_iterations=None) == b"secret"


def test_other_recipients_are_tried_after_the_budget_is_spent(counter):
    kek = bytes(range(16))
    message = E.build_enveloped_data(b"secret", [E.PasswordRecipient("pw", iterations=50_000),
                                                 E.KEKRecipient(kek, b"id")])
    counter.calls.clear()
    assert E.decrypt(message, password="other", kek=kek, max_pbkdf2_iterations=10_000) == b"secret"
    assert counter.calls == []


# --------------------------------------------------------------------------------------------------------------
# Finding 10: well-formed CMS holding the wrong content is a DecodeError (and still a CmcError)


@pytest.fixture(scope="module")
def signer():
    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "hostile codec test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _wrong_content_messages(signer):
    key, cert = signer
    response = cmc.PkiResponseBuilder().transaction_id(5).success().sign(key, cert)
    signed_data = cms.sign_signed_data(cms.OID_DATA, b"\x04\x03abc", key, cert)
    enveloped = E.build_enveloped_data(b"x", [E.KEKRecipient(bytes(16), b"k")])
    return {"signed-response": response, "signed-id-data": signed_data, "enveloped": enveloped}


@pytest.mark.parametrize("parser", ["parse_pki_data", "parse_pki_response"])
def test_cmc_parsers_raise_decode_error_for_wrong_content(signer, parser):
    fn = getattr(cmc, parser)
    for label, data in _wrong_content_messages(signer).items():
        if parser == "parse_pki_response" and label == "signed-response":
            assert fn(data).is_success
            continue
        with pytest.raises(DecodeError) as excinfo:
            fn(data)
        err = excinfo.value
        assert isinstance(err, cmc.CmcContentError) and isinstance(err, cmc.CmcError), label
        assert err.reason == "unexpected-content-type" and err.path.startswith("$.content")


def test_cmc_semantic_checks_stay_cmc_errors(signer):
    """CmcError without DecodeError: a trust anchor given for an unsigned message (the input is fine; the
    caller's requirement is not met)."""
    _key, cert = signer
    bare = cmc.PkiResponseBuilder().transaction_id(5).success().build().to_der()
    with pytest.raises(cmc.CmcError) as excinfo:
        cmc.parse_pki_response(bare, signer_trust=[cert])
    assert not isinstance(excinfo.value, DecodeError)
