"""``est testserver --revocation``: the reference server's CRL and OCSP responder, their URLs printed, named in the
certificates it issues, and the CRL served on loopback; ``--reenroll-with-credentials`` announced."""
from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from est_cli_helpers import run_est, start_testserver, stop_testserver


def test_testserver_revocation_prints_and_serves_crl_and_ocsp(tmp_path: Path) -> None:
    srv = start_testserver(tmp_path, "--revocation", "--reenroll-with-credentials")
    try:
        crl_url = re.search(r"^CRL\s+(http://127\.0\.0\.1:\d+/\S+)$", srv.banner, re.M)
        ocsp_url = re.search(r"^OCSP\s+(http://127\.0\.0\.1:\d+\S*)$", srv.banner, re.M)
        assert crl_url and ocsp_url, srv.banner
        assert "reenroll         also with HTTP credentials" in srv.banner
        res = run_est("enroll", *srv.conn(), "--cn", "revocable", "--out", "c.pem", "--key-out", "c.key",
                      cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        cert = x509.load_pem_x509_certificate((tmp_path / "c.pem").read_bytes())
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        assert [n.value for p in points for n in (p.full_name or [])] == [crl_url.group(1)]
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert [a.access_location.value for a in aia
                if a.access_method == AuthorityInformationAccessOID.OCSP] == [ocsp_url.group(1)]
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: no proxy
        with direct.open(crl_url.group(1), timeout=15) as resp:
            crl = x509.load_der_x509_crl(resp.read())
        assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is None
    finally:
        assert stop_testserver(srv) == 0
