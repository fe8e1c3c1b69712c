"""``est demo``: every EST operation against an in-process test server, one summary per step."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from .. import errors as E
from ._errors import EXIT_OK, exit_code_for, one_line, print_error
from ._files import KEY_MODE, PUBLIC_MODE, check_writable, write_file
from ._output import cert_lines, cert_summary, key_bytes, key_description

__all__ = ["cmd_demo"]


class _Step:
    def __init__(self, number: int, total: int, title: str, explain: str) -> None:
        self.number, self.total, self.title, self.explain = number, total, title, explain
        self.lines: list[str] = []
        self.data: dict[str, Any] = {}


def _pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    from estcodec.pem import encode

    return encode(label, der).encode("ascii")


_NEXT_STEPS = (
    "next steps:",
    "  est testserver --ca-out ca.pem          # keep a test server running, then in another terminal:",
    "  est cacerts -s URL --bootstrap-fingerprint SHA256 --out ca.pem",
    "  est enroll -s URL --trust ca.pem -u USER --password-file pw --cn dev1 --out dev1.pem --key-out dev1.key",
    "  est check -s URL --trust ca.pem -u USER --password-file pw   # what works, what does not, and why",
    "  est show dev1.pem                       # what is in a file",
    "  est --help, est COMMAND --help, man est  # every option",
)


def cmd_demo(args: argparse.Namespace) -> int:
    """Start an EstTestServer on loopback and walk through bootstrap, csrattrs, enroll, reenroll,
    serverkeygen (key encrypted to our certificate, decrypted here) and fullcmc. Exit 0 only if all succeed."""
    from cryptography.hazmat.primitives import serialization

    from ..client import EstClient
    from ..config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
    from ..csr import CsrBuilder
    from ..protocol import CmcRequest, CmcResponse, Issued, ServerKeygenResponse
    from ..testing import EstTestServer

    as_json = bool(getattr(args, "json", False))
    keep = getattr(args, "keep", None)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        check_writable([os.path.join(keep, n) for n in ("ca.pem", "device.pem", "device.key", "renewed.pem",
                                                        "renewed.key", "serverkey.pem", "serverkey.key",
                                                        "cmc.pem", "cmc.key")], force=bool(args.force))

    def say(text: str = "") -> None:
        print(text, file=sys.stderr if as_json else sys.stdout, flush=True)

    total = 6
    report: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    files: dict[str, bytes] = {}

    say("est demo: an EST (RFC 7030) walk-through against a throwaway test CA on this machine")
    started = time.monotonic()
    with EstTestServer(auth="basic", ca_label=None) as srv:
        fp = srv.ca_fingerprint_sha256.hex()
        say(f"  test server  {srv.url}/.well-known/est/  (HTTP Basic user {srv.username!r}, random password)")
        say(f"  CA SHA-256   {fp}")
        say("  (the fingerprint is what you would get out of band, e.g. printed on the device's label)")
        say()
        auth = HttpAuth(srv.username, srv.password)
        files["ca.pem"] = srv.trust_anchor_pem

        def step1(st: _Step) -> None:
            config = EstClientConfig(srv.url, trust=TrustAnchors.bootstrap(fp), http_auth=auth, timeout=15)
            with EstClient(config) as client:
                cas = client.bootstrap()
            state["anchors"] = cas.to_pem().encode("ascii")
            st.lines.append(f"fetched /cacerts without trust, accepted the CA whose SHA-256 is {fp[:16]}...")
            for c in cas:
                st.lines.append(f"  trust anchor: {c.subject.rfc4514_string()} (valid until "
                                f"{c.not_after:%Y-%m-%d}, key {cert_summary(c)['key']})")
            st.data["ca_certificates"] = [cert_summary(c) for c in cas]

        def client_for(identity: Any = None) -> Any:
            return EstClient(EstClientConfig(srv.url, trust=TrustAnchors.from_pem(state["anchors"]),
                                             http_auth=auth, client_identity=identity, timeout=15))

        def step2(st: _Step) -> None:
            with client_for() as client:
                attrs = client.get_csr_attributes()
            state["csrattrs"] = attrs
            from estcodec.show import summarize_as

            s = summarize_as("csr-attributes", attrs.to_der())
            st.lines.append(f"the server asks for {len(attrs)} item(s):")
            for item in s["items"]:
                st.lines.append(f"  {item if isinstance(item, str) else json.dumps(item)}")
            st.data["csr_attributes"] = s["items"]

        def step3(st: _Step) -> None:
            b = (CsrBuilder().common_name("est-demo-device").organization("EST Demo")
                 .san_dns("device.est-demo.example").key_type("ec-p256")
                 .key_usage("digital_signature", "key_agreement").extended_key_usage("client_auth"))
            b.with_attributes(state["csrattrs"])
            with client_for() as client:
                res = client.simple_enroll(b)
            if not isinstance(res, Issued):
                raise E.ProtocolError("the enrollment is pending; the demo server should issue at once")
            key_pem = key_bytes(b.private_key, "pem")
            state["identity"] = ClientIdentity(_pem(res.certificate.to_der()), key_pem)
            state["device_cert"] = res.certificate
            files["device.pem"], files["device.key"] = _pem(res.certificate.to_der()), key_pem
            st.lines.append("new EC P-256 key made here; CSR signed with it; HTTP Basic authenticated")
            st.lines += cert_lines(res.certificate, "  ")
            st.data["certificate"] = cert_summary(res.certificate)

        def step4(st: _Step) -> None:
            from ..renewal import RenewalConfig, renewal_csr

            old = state["device_cert"]
            ident = state["identity"]
            # same subject, subjectAltName and usages as the current certificate (RFC 7030 §4.2.2), new key
            b = renewal_csr(ident, RenewalConfig(renewal_threshold=1, check_interval=1))
            with client_for(ident) as client:
                res = client.simple_reenroll(b)
            if not isinstance(res, Issued):
                raise E.ProtocolError("the re-enrollment is pending; the demo server should issue at once")
            if res.certificate.serial_number == old.serial_number:
                raise E.ProtocolError("the renewed certificate has the old serial number")
            by = [r.authenticated_by for r in srv.requests if r.operation == "simplereenroll" and r.status == 200]
            key_pem = key_bytes(b.private_key, "pem")
            state["identity"] = ClientIdentity(_pem(res.certificate.to_der()), key_pem)
            files["renewed.pem"], files["renewed.key"] = _pem(res.certificate.to_der()), key_pem
            st.lines.append(f"TLS client certificate = the certificate from step 3 (server saw: "
                            f"{by[-1] if by else '?'} authentication); same subject and SAN, new key")
            st.lines += cert_lines(res.certificate, "  ")
            st.lines.append(f"  replaces serial {format(old.serial_number, 'x')}")
            st.data["certificate"] = cert_summary(res.certificate)

        def step5(st: _Step) -> None:
            ident = state["identity"]
            holder_key = ident.private_key()
            with client_for(ident) as client:
                res = client.server_keygen(CsrBuilder().common_name("est-demo-serverkey"),
                                           private_key=holder_key, certificate=ident.certificate)
            if not isinstance(res, ServerKeygenResponse) or res.private_key is None:
                raise E.ProtocolError("no decrypted server-generated key")
            if not res.key_encrypted:
                raise E.ProtocolError("the server sent the key unencrypted")
            key = res.private_key_object()
            spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            if spki != res.certificate.public_key_info.to_der():
                raise E.ProtocolError("the server-generated key does not match its certificate")
            files["serverkey.pem"], files["serverkey.key"] = _pem(res.certificate.to_der()), key_bytes(key, "pem")
            st.lines.append("the server made the key pair, signed it (CMS SignedData) and encrypted it to our "
                            "certificate's key (EnvelopedData, ECDH)")
            st.lines.append(f"  decrypted here with the step-4 key: {key_description(key)}, signature checked "
                            "against the CA, matches the certificate")
            st.lines += cert_lines(res.certificate, "  ")
            st.data["certificate"] = cert_summary(res.certificate)
            st.data["private_key"] = {"type": key_description(key), "encrypted_in_transit": True,
                                      "matches_certificate": True}

        def step6(st: _Step) -> None:
            der, key = CsrBuilder().common_name("est-demo-cmc").key_type("ec-p256").build()
            with client_for() as client:
                res = client.full_cmc(CmcRequest.for_csr(der, key, transaction_id=4711))
            if not isinstance(res, CmcResponse) or res.pki_response is None:
                raise E.ProtocolError("no Full PKI Response")
            pr = res.pki_response
            spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            mine = [c for c in res.certificates if c.public_key_info.to_der() == spki]
            if not pr.is_success() or not mine:
                raise E.ProtocolError("the Full PKI Response does not carry our certificate")
            files["cmc.pem"], files["cmc.key"] = _pem(mine[0].to_der()), key_bytes(key, "pem")
            statuses = ", ".join(f"{getattr(s.status, 'name', s.status)} for body parts {list(s.body_list)}"
                                 for s in pr.statuses)
            st.lines.append("PKIData (transactionId 4711, senderNonce, one PKCS#10) signed with the new key")
            st.lines.append(f"  PKIResponse: {statuses or 'no status control'}; signature verified against the "
                            f"CA: {'yes' if pr.signature_verified else 'no'}")
            st.lines += cert_lines(mine[0], "  ")
            st.data["certificate"] = cert_summary(mine[0])
            st.data["cmc_status"] = getattr(pr.status, "name", str(pr.status)).lower()
            st.data["signature_verified"] = bool(pr.signature_verified)

        steps: list[tuple[str, str, Callable[[_Step], None]]] = [
            ("bootstrap", "bootstrap trust with the CA fingerprint (RFC 7030 §4.1.1)", step1),
            ("csrattrs", "ask which CSR attributes the CA wants (/csrattrs)", step2),
            ("enroll", "enroll a new device key (/simpleenroll)", step3),
            ("reenroll", "renew with the new identity as TLS client certificate (/simplereenroll)", step4),
            ("serverkeygen", "server-side key generation, key encrypted to us (/serverkeygen)", step5),
            ("fullcmc", "enroll with a Full PKI Request (/fullcmc, CMC)", step6),
        ]
        failed: BaseException | None = None
        for i, (name, title, func) in enumerate(steps, 1):
            st = _Step(i, total, name, title)
            t0 = time.monotonic()
            try:
                func(st)
                ok = True
            except Exception as exc:  # report the step, stop the walk
                ok = False
                failed = exc
                st.lines.append(f"FAILED: {type(exc).__name__}: {one_line(str(exc))}")
            ms = (time.monotonic() - t0) * 1000
            say(f"[{i}/{total}] {title} ... {'ok' if ok else 'FAILED'} ({ms:.0f} ms)")
            for line in st.lines:
                say(f"      {line}")
            say()
            report.append({"step": name, "title": title, "ok": ok, "ms": round(ms, 1), **st.data})
            if not ok:
                break
    elapsed = time.monotonic() - started
    ok_all = failed is None and len(report) == total
    if keep and ok_all:
        for name, data in files.items():
            write_file(os.path.join(keep, name), data, mode=KEY_MODE if name.endswith(".key") else PUBLIC_MODE,
                       force=bool(args.force))
        say(f"wrote the demo's CA, certificates and keys (mode 0600) to {keep}")
    if ok_all:
        say(f"all {total} steps succeeded in {elapsed:.1f} s")
        say()
        for line in _NEXT_STEPS:
            say(line)
    else:
        say(f"demo failed at step {len(report)} of {total}")
    if as_json:
        print(json.dumps({"ok": ok_all, "steps": report, "seconds": round(elapsed, 2)}, indent=2, default=str))
    if not ok_all:
        assert failed is not None
        print_error("demo", f"step {report[-1]['step']} failed: {failed}")
        return exit_code_for(failed)
    return EXIT_OK
