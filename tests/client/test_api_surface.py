"""The public names of the API contract for estclient exist, with the documented shapes."""
from __future__ import annotations

import inspect

import estclient
import estclient.errors as E


def test_all_is_complete_and_importable():
    for name in estclient.__all__:
        assert hasattr(estclient, name), name
    for name in ("EstClient", "AsyncEstClient", "EstClientConfig", "ClientIdentity", "HttpAuth", "TrustAnchors",
                 "__version__"):
        assert name in estclient.__all__
    from estclient.csr import CsrBuilder  # noqa: F401


def test_error_hierarchy():
    for name in ("AuthenticationRequired", "ServerError", "NotSupported", "TlsConfigError", "ProtocolError",
                 "BootstrapVerificationError", "TransportError", "ConfigError", "PendingTimeout"):
        assert issubclass(getattr(E, name), E.EstError), name
    assert E.AuthenticationRequired("m", challenge="Basic").challenge == "Basic"
    err = E.ServerError(400, "bad", pki_response=None, fail_info=None)
    assert (err.status, err.message, err.pki_response, err.fail_info) == (400, "bad", None, None)
    assert E.NotSupported("fullcmc").operation == "fullcmc"


def test_client_methods_sync_and_async_match():
    ops = ["get_ca_certs", "get_csr_attributes", "simple_enroll", "simple_reenroll", "server_keygen", "full_cmc",
           "enroll_and_wait"]
    for op in ops:
        s, a = getattr(estclient.EstClient, op), getattr(estclient.AsyncEstClient, op)
        assert not inspect.iscoroutinefunction(s) and inspect.iscoroutinefunction(a), op
        assert list(inspect.signature(s).parameters) == list(inspect.signature(a).parameters), op
    params = inspect.signature(estclient.EstClient.server_keygen).parameters
    assert [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY] == [
        "kek", "kek_id", "private_key", "certificate", "signer_trust"]
    assert inspect.signature(estclient.EstClient.enroll_and_wait).parameters["max_wait"].kind is inspect.Parameter.KEYWORD_ONLY


def test_csr_builder_methods():
    names = ["common_name", "organization", "organizational_unit", "country", "state", "locality", "san_dns",
             "san_ip", "san_email", "san_uri", "key_usage", "extended_key_usage", "key_type", "otp_challenge",
             "decrypt_key_identifier", "asymmetric_decrypt_key_identifier", "smime_capabilities", "with_key",
             "with_attributes", "build"]
    for n in names:
        assert callable(getattr(estclient.CsrBuilder, n)), n
