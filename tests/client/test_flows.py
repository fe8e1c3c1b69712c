"""estclient.flows driven without any I/O: scripted responses in, yielded commands checked (sans-IO layer)."""
from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography import x509

from estclient import flows as F
from estclient import protocol as P
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import AuthenticationRequired, NotSupported, BootstrapVerificationError, PendingTimeout, ProtocolError, ServerError, TlsConfigError
from estclient.tls import ConnectionInfo

from client_vectors import RFC7030, capture
from loopback import certs_only, issue, make_ca

URL = "https://est.example:8443"
TRUST = TrustAnchors.from_pem(make_ca().cert_pem)


def config(**kw):
    kw.setdefault("trust", TRUST)
    return EstClientConfig(URL, **kw)


def drive(flow, answer):
    """Run ``flow``; ``answer(command)`` gives each result. Returns (result, commands)."""
    commands = []
    try:
        cmd = next(flow)
        while True:
            commands.append(cmd)
            cmd = flow.send(answer(cmd))
    except StopIteration as stop:
        return stop.value, commands


_TLS13 = ConnectionInfo("TLSv1.3")


def resp(status, headers=(), body=b"", conn=_TLS13, closed=False):
    return F.Received(P.EstResponse(status, list(headers), body), conn, closed)


CHALLENGE = [("WWW-Authenticate", 'Basic realm="est"')]


def test_401_retry_once_with_credentials_then_preemptive():
    state = F.FlowState()
    answers = iter([resp(401, CHALLENGE, closed=True), resp(404, [("Content-Type", "text/plain")], b"x")])
    with pytest.raises(NotSupported):
        drive(F.full_cmc(config(http_auth=HttpAuth("u", "p")), state, b"\x30\x00"), lambda c: next(answers))
    # a 404 after authenticating: Basic becomes preemptive for later requests
    assert state.basic_preemptive
    cmds = []
    answers = iter([resp(500, [("Content-Type", "text/plain")], b"boom")])
    with pytest.raises(ServerError):
        drive(F.get_ca_certs(config(http_auth=HttpAuth("u", "p")), state), lambda c: (cmds.append(c), next(answers))[1])
    assert cmds[0].auth is True


def test_401_twice_is_authentication_required():
    sent = []

    def answer(cmd):
        sent.append(cmd)
        return resp(401, CHALLENGE)

    with pytest.raises(AuthenticationRequired) as ei:
        drive(F.get_csr_attributes(config(http_auth=HttpAuth("u", "p")), F.FlowState()), answer)
    assert [c.auth for c in sent] == [False, True]
    assert ei.value.challenge == 'Basic realm="est"'


def test_401_without_credentials_or_with_other_scheme():
    with pytest.raises(AuthenticationRequired):
        drive(F.get_ca_certs(config(), F.FlowState()), lambda c: resp(401, CHALLENGE))
    sent = []
    with pytest.raises(AuthenticationRequired):
        drive(F.get_ca_certs(config(http_auth=HttpAuth("u", "p")), F.FlowState()),
              lambda c: (sent.append(c), resp(401, [("WWW-Authenticate", 'Digest realm="r", nonce="n"')]))[1])
    assert len(sent) == 1  # Basic credentials are not offered to a Digest-only challenge


def test_digest_lets_the_driver_answer_the_challenge():
    sent = []
    cas = capture("cacerts")[0]
    # libest's CA does not chain to this test's anchor: the set is refused after the exchange (RFC 7030 §4.1.3)
    with pytest.raises(ProtocolError, match="does not chain"):
        drive(F.get_ca_certs(config(http_auth=HttpAuth("u", "p", "digest")), F.FlowState()),
              lambda c: (sent.append(c), F.Received(cas))[1])
    assert sent[0].auth is True


def test_redirects():
    sent = []
    answers = iter([
        resp(307, [("Location", "/elsewhere/cacerts")]),
        resp(303, [("Location", f"{URL}/x")]),
        resp(500, [("Content-Type", "text/plain")], b"end"),
    ])
    der, _ = CsrBuilder().common_name("r").build()
    with pytest.raises(ServerError, match="end"):
        drive(F.enroll(config(), F.FlowState(), der), lambda c: (sent.append(c), next(answers))[1])
    assert sent[1].request.url == f"{URL}/elsewhere/cacerts" and sent[1].request.method == "POST"
    assert sent[2].request.method == "GET" and sent[2].request.body is None
    for loc in ("https://evil.example/x", "http://est.example:8443/x", "https://est.example:9999/x",
                "https://u:p@est.example:8443/x", None):
        headers = [("Location", loc)] if loc else []
        with pytest.raises(ProtocolError):
            drive(F.get_ca_certs(config(), F.FlowState()), lambda c, h=headers: resp(302, h))


def test_enroll_and_wait_sleeps_between_identical_requests():
    ca = make_ca()
    b = CsrBuilder().common_name("w")
    leaf = issue(ca, "w", public_key=b.private_key.public_key())
    issued = base64.b64encode(certs_only(leaf.cert))
    answers = iter([resp(202, [("Retry-After", "3")]), resp(202, []), resp(200, [], issued)])
    result, cmds = drive(F.enroll_and_wait(config(channel_binding="off"), F.FlowState(), b, max_wait=60),
                         lambda c: None if isinstance(c, F.Sleep) else next(answers))
    assert isinstance(result, P.Issued)
    assert [c.seconds for c in cmds if isinstance(c, F.Sleep)] == [3.0, F.DEFAULT_RETRY_AFTER]
    bodies = {c.request.body for c in cmds if isinstance(c, F.Send)}
    assert len(bodies) == 1  # the same request each time
    with pytest.raises(PendingTimeout):
        drive(F.enroll_and_wait(config(), F.FlowState(), b.build()[0], max_wait=5),
              lambda c: None if isinstance(c, F.Sleep) else resp(202, [("Retry-After", "4")]))


def _challenge_of(send: F.Send) -> str | None:
    csr = x509.load_der_x509_csr(base64.b64decode(send.request.body))
    try:
        return csr.attributes.get_attribute_for_oid(x509.oid.AttributeOID.CHALLENGE_PASSWORD).value.decode()
    except x509.AttributeNotFound:
        return None


def test_channel_binding_signs_for_the_connection_and_resigns_after_a_new_one():
    ca = make_ca()
    b = CsrBuilder().common_name("cb")
    issued = base64.b64encode(certs_only(issue(ca, "cb", public_key=b.private_key.public_key()).cert))
    c1, c2 = ConnectionInfo("TLSv1.2", b"first-conn"), ConnectionInfo("TLSv1.2", b"second-conn")
    cas = capture("cacerts")[0]
    script = iter([
        F.Received(cas, c1),                                    # probe on the pinned connection
        resp(401, CHALLENGE, conn=c1, closed=True),              # libest: 401 and close
        F.Received(cas, c2),                                    # new probe, new connection
        resp(200, [], issued, conn=c2),
    ])
    sent = []
    result, _ = drive(F.enroll(config(http_auth=HttpAuth("u", "p")), F.FlowState(), b),
                      lambda c: (sent.append(c), next(script))[1])
    assert isinstance(result, P.Issued)
    posts = [s for s in sent if s.request.method == "POST"]
    assert all(s.pinned for s in sent)
    assert [_challenge_of(p) for p in posts] == [base64.b64encode(b"first-conn").decode(), base64.b64encode(b"second-conn").decode()]
    # Basic goes with a bound request from the start (a 401 would cost the connection); refused once, it is
    # tried once more on the new connection, re-signed
    assert [p.auth for p in posts] == [True, True]


def test_channel_binding_response_on_other_connection_resigns():
    b = CsrBuilder().common_name("cb2")
    c1, c2 = ConnectionInfo("TLSv1.2", b"one"), ConnectionInfo("TLSv1.2", b"two")
    cas = capture("cacerts")[0]
    script = iter([F.Received(cas, c1), resp(401, [], conn=c2), resp(500, [("Content-Type", "text/plain")], b"final", conn=c2)])
    sent = []
    with pytest.raises(ServerError, match="final"):
        drive(F.enroll(config(channel_binding="require"), F.FlowState(), b), lambda c: (sent.append(c), next(script))[1])
    assert [_challenge_of(p) for p in sent if p.request.method == "POST"] == [
        base64.b64encode(b"one").decode(), base64.b64encode(b"two").decode()]
    assert all(s.tls12_only for s in sent)


def test_channel_binding_required_on_tls13_raises_before_posting():
    sent = []
    cas = capture("cacerts")[0]
    with pytest.raises(TlsConfigError, match="TLS 1.3|TLSv1.3"):
        drive(F.enroll(config(channel_binding="require"), F.FlowState(), CsrBuilder().common_name("x")),
              lambda c: (sent.append(c), F.Received(cas, ConnectionInfo("TLSv1.3")))[1])
    assert all(s.request.method == "GET" for s in sent)


def test_auto_binding_skipped_once_tls13_known_and_off_mode():
    state = F.FlowState(server_tls_version="TLSv1.3")
    sent = []
    with pytest.raises(ServerError):
        drive(F.enroll(config(), state, CsrBuilder().common_name("x")),
              lambda c: (sent.append(c), resp(500))[1])
    assert len(sent) == 1 and not sent[0].pinned and _challenge_of(sent[0]) is None
    sent.clear()
    with pytest.raises(ServerError):
        drive(F.enroll(config(channel_binding="off"), F.FlowState(), CsrBuilder().common_name("x")),
              lambda c: (sent.append(c), resp(500))[1])
    assert len(sent) == 1 and _challenge_of(sent[0]) is None


# ----------------------------------------------------------------------------- bootstrap


A1 = (RFC7030 / "A.1_cacerts_response.der").read_bytes()


def _rollover_set():
    """A current root with the three RFC 4210 key-update certificates (all one name), as /cacerts sends them."""
    from estclient.testing._ca import TestCa

    ca = TestCa(rollover=True)
    certs = ca.ca_certificates  # OldWithOld, NewWithNew, OldWithNew, NewWithOld
    return certs, base64.b64encode(certs_only(*certs))


def test_bootstrap_accepts_by_fingerprint_and_validates_rollover_set():
    from cryptography.hazmat.primitives.serialization import Encoding

    certs, body = _rollover_set()
    fp = hashlib.sha256(certs[1].public_bytes(Encoding.DER)).hexdigest()  # NwN
    state = F.FlowState()
    answer = lambda c: None if isinstance(c, F.UseAnchors) else resp(200, [("Content-Type", "application/pkcs7-mime")], body)
    result, cmds = drive(F.bootstrap(config(trust=TrustAnchors.bootstrap(fp)), state), answer)
    assert len(result) == 4 and result[0].to_der() == certs[1].public_bytes(Encoding.DER)
    first = cmds[0]
    assert first.verify is False and first.auth is False
    assert isinstance(cmds[-1], F.UseAnchors) and state.anchors_pem == cmds[-1].pem
    assert len(x509.load_pem_x509_certificates(state.anchors_pem)) == 4


def test_bootstrap_refuses_rfc7030_a1_set_today():
    """RFC 7030 A.1's example set expired in 2014 and is signed with SHA-1: path validation refuses it now."""
    from estcodec.cms import parse_certs_only

    fp = hashlib.sha256(parse_certs_only(A1)[3].to_der()).hexdigest()  # NwN
    answer = lambda c: None if isinstance(c, F.UseAnchors) else resp(200, [], base64.b64encode(A1))
    with pytest.raises(BootstrapVerificationError, match="NwN: not valid at"):
        drive(F.bootstrap(config(trust=TrustAnchors.bootstrap(fp)), F.FlowState()), answer)


def test_bootstrap_refuses_unknown_fingerprint_and_unchained_extra():
    answer = lambda c: resp(200, [], base64.b64encode(A1))
    with pytest.raises(BootstrapVerificationError, match="fingerprint"):
        drive(F.bootstrap(config(trust=TrustAnchors.bootstrap("11" * 32)), F.FlowState()), answer)
    from estcodec.cms import parse_certs_only

    ca = make_ca("Accepted")
    stranger = make_ca("Stranger")
    body = base64.b64encode(certs_only(ca.cert, stranger.cert))
    fp = hashlib.sha256(parse_certs_only(certs_only(ca.cert))[0].to_der()).digest()
    with pytest.raises(BootstrapVerificationError, match="Stranger"):
        drive(F.bootstrap(config(trust=TrustAnchors.bootstrap(fp)), F.FlowState()), lambda c: resp(200, [], body))
    with pytest.raises(BootstrapVerificationError):
        drive(F.bootstrap(config(trust=TrustAnchors.bootstrap(fp)), F.FlowState()), lambda c: resp(401, CHALLENGE))


def test_bootstrap_confirm_callback_sees_certificates():
    from cryptography.hazmat.primitives.serialization import Encoding

    certs, body = _rollover_set()
    want = certs[1].public_bytes(Encoding.DER)  # NewWithNew
    seen = []

    def confirm(cert):
        seen.append(cert.to_der())
        return cert.to_der() == want

    result, _ = drive(F.bootstrap(config(trust=TrustAnchors.bootstrap(confirm=confirm)), F.FlowState()),
                      lambda c: None if isinstance(c, F.UseAnchors) else resp(200, [], body))
    assert seen[-1] == want and len(seen) <= 4 and len(result) == 4


def test_csr_forms_accepted():
    der, _ = CsrBuilder().common_name("forms").build()
    from estcodec.pkcs10 import CertificationRequest

    for form in (der, bytearray(der), CertificationRequest.from_der(der), x509.load_der_x509_csr(der)):
        sent = []
        with pytest.raises(ServerError):
            drive(F.enroll(config(), F.FlowState(), form), lambda c, s=sent: (s.append(c), resp(500))[1])
        assert base64.b64decode(sent[0].request.body) == der
    with pytest.raises(TypeError):
        drive(F.enroll(config(), F.FlowState(), "not a csr"), lambda c: resp(500))
