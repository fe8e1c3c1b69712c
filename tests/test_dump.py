"""Tests of ``python -m estcodec dump``: structure columns checked against ``openssl asn1parse`` on real
vectors, value rendering, input formats (DER, BER, PEM, base64), and error reporting.
"""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from estcodec import dump, pem
from estcodec.__main__ import SUBCOMMANDS, main

VECTORS = Path(__file__).resolve().parent / "vectors"
CSR = VECTORS / "rfc7030" / "A.3_simpleenroll_request_pkcs10.der"
CACERTS = VECTORS / "rfc7030" / "A.1_cacerts_response.der"

LINE = re.compile(r"^\s*(\d+):d=(\d+)\s+hl=(\d+) l=\s*(\d+|inf)\s+(prim|cons):\s*(.*?)\s*(?::(.*))?$")


def run_dump(data: bytes, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = dump.dump_bytes(data, ber="--ber" in args, expand="--no-expand" not in args, out=out, err=err)
    return rc, out.getvalue(), err.getvalue()


def columns(text: str) -> list[tuple]:
    """(offset, depth, hl, l, form, tag) of each element line."""
    rows = []
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            rows.append((int(m[1]), int(m[2]), int(m[3]), m[4], m[5], m[6].strip()))
    return rows


# ------------------------------------------------------------------ agreement with openssl asn1parse

OPENSSL = shutil.which("openssl")
OPENSSL_VECTORS = [
    "rfc7030/A.1_cacerts_response.der",
    "rfc7030/A.2_csrattrs_response.der",
    "rfc7030/A.3_simpleenroll_request_pkcs10.der",
    "rfc7030/A.4_serverkeygen_response_part1_pkcs8.der",
    "cmc/sunet-python_cmc",  # directory: every file in it
    "lamps-csrattrs-draft",
]


def _openssl_files():
    for entry in OPENSSL_VECTORS:
        p = VECTORS / entry
        if p.is_dir():
            yield from sorted(p.glob("*.der"))
        else:
            yield p


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not available")
@pytest.mark.parametrize("path", list(_openssl_files()), ids=lambda p: p.name)
def test_columns_match_openssl_asn1parse(path):
    data = path.read_bytes()
    ours = columns(run_dump(data, "--no-expand")[1])
    proc = subprocess.run([OPENSSL, "asn1parse", "-i", "-inform", "DER", "-in", str(path)],
                          capture_output=True, text=True, check=True)
    theirs = columns(proc.stdout)
    assert len(ours) == len(theirs) > 5
    for a, b in zip(ours, theirs):
        # offset, depth, header length, content length, form: identical; tag name: identical text
        # (openssl appends "[HEX DUMP]" to some tags after the padding; the name is before it)
        assert a[:5] == b[:5], (a, b)
        assert a[5].split("  ")[0] == b[5].split("  ")[0], (a, b)


# ------------------------------------------------------------------ values


def test_csr_tree_values():
    rc, out, err = run_dump(CSR.read_bytes())
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "    0:d=0  hl=4 l= 645 cons: SEQUENCE"
    assert "    8:d=2  hl=2 l=   1 prim:   INTEGER           :0" in lines
    assert "   17:d=5  hl=2 l=   3 prim:      OBJECT            :commonName (2.5.4.3)" in lines
    assert "   22:d=5  hl=2 l=  20 prim:      PRINTABLESTRING   :demostep4 1368141352" in lines
    assert any(":challengePassword (1.2.840.113549.1.9.7)" in line for line in lines)
    assert any(":sha1WithRSAEncryption (1.2.840.113549.1.1.5)" in line for line in lines)
    # the RSA key inside the BIT STRING is expanded, with offsets in the file
    i = next(i for i, line in enumerate(lines) if line.lstrip().startswith("63:"))
    assert "encapsulates:" in lines[i + 1]
    assert lines[i + 2].startswith("   68:d=4  hl=4 l= 266 cons:     SEQUENCE")
    assert re.search(r"INTEGER\s+:0x00A5369FA477.*\(257 bytes\)", lines[i + 3])
    assert lines[i + 4].endswith("INTEGER           :65537")
    # long BIT STRING is cut after 32 bytes
    assert lines[-1].endswith("... (256 bytes)")


def test_no_expand():
    _, out, _ = run_dump(CSR.read_bytes(), "--no-expand")
    assert "encapsulates" not in out
    assert len(columns(out)) == 22


def test_certificate_times_and_extensions():
    _, out, _ = run_dump(CACERTS.read_bytes())
    assert "UTCTIME           :130509035331Z (2013-05-09 03:53:31 UTC)" in out
    assert ":basicConstraints (2.5.29.19)" in out
    assert "BOOLEAN           :TRUE" in out
    assert ":signedData (1.2.840.113549.1.7.2)" in out
    assert "cont [ 0 ]" in out and "cont [ 3 ]" in out


def H(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("data, expected", [
    (H("01 01 00"), "BOOLEAN           :FALSE"),
    (H("02 01 80"), "INTEGER           :-128"),
    (H("02 09 00 ff ff ff ff ff ff ff ff"), "INTEGER           :18446744073709551615"),
    (H("02 09 01 00 00 00 00 00 00 00 00"), "INTEGER           :0x010000000000000000"),
    (H("0a 01 03"), "ENUMERATED        :3"),
    (H("05 00"), "NULL"),
    (H("06 03 2a 03 04"), "OBJECT            :1.2.3.4"),
    (H("06 03 55 1d 11"), "OBJECT            :subjectAltName (2.5.29.17)"),
    (H("06 08 2b 06 01 05 05 07 07 19"), "OBJECT            :id-cmc-statusInfoV2 (1.3.6.1.5.5.7.7.25)"),
    (H("03 02 07 80"), "BIT STRING        :unused=7 80"),
    (H("04 02 ab cd"), "OCTET STRING      :ABCD"),
    (H("0c 03 e2 82 ac"), "UTF8STRING        :\u20ac"),
    (H("0c 03 61 0a 62"), "UTF8STRING        :a\\x0ab"),
    (H("16 03 61 5c 62"), "IA5STRING         :a\\\\b"),
    (H("1e 02 00 41"), "BMPSTRING         :A"),
    (H("18 11") + b"20250101000000.5Z", "GENERALIZEDTIME   :20250101000000.5Z (2025-01-01 00:00:00.5 UTC)"),
    (H("82 0b") + b"a.example.o", "cont [ 2 ]        :a.example.o"),
    (H("81 02 00 ff"), "cont [ 1 ]        :00FF"),
    (H("61 00"), "appl [ 1 ]"),
    (H("df 82 80 00 00"), "priv [ 32768 ]"),
    (H("1f 1f 01 aa"), "[UNIVERSAL 31]    :AA"),
])
def test_value_rendering(data, expected):
    rc, out, _ = run_dump(data)
    assert rc == 0
    assert out.rstrip("\n").split(": ", 1)[1].lstrip() == expected


def test_long_values_are_cut():
    _, out, _ = run_dump(b"\x0c\x81\xc8" + b"x" * 200)
    assert out.rstrip().endswith("x" * 80 + "... (200 chars)")
    _, out, _ = run_dump(b"\x04\x40" + bytes(64))
    assert out.rstrip().endswith("00" * 32 + "... (64 bytes)")


def test_primitive_encapsulated_content_is_not_expanded():
    # an OCTET STRING holding a primitive TLV (e.g. keyUsage's BIT STRING) stays hex
    _, out, _ = run_dump(H("04 04 03 02 01 06"))
    assert "encapsulates" not in out and out.rstrip().endswith(":03020106")


def test_octet_string_that_only_looks_like_der_is_not_expanded():
    _, out, _ = run_dump(H("04 03 30 05 00"))
    assert "encapsulates" not in out


# ------------------------------------------------------------------ input formats


def test_pem_and_base64_inputs_give_the_same_tree():
    der = CACERTS.read_bytes()
    expected = run_dump(der)[1]
    assert run_dump(pem.encode("PKCS7", der).encode())[1] == expected
    assert run_dump((VECTORS / "rfc7030" / "A.1_cacerts_response.b64").read_bytes())[1] == expected
    assert run_dump(base64.b64encode(der))[1] == expected


def test_ber_input_falls_back_with_a_note():
    data = H("30 80 24 80 04 01 aa 04 01 bb 00 00 01 01 01 00 00")
    rc, out, err = run_dump(data)
    assert rc == 0
    assert err.startswith("note: input is not DER") and "indefinite-length" in err and "byte 0" in err
    rows = columns(out)
    assert rows[0] == (0, 0, 2, "inf", "cons", "SEQUENCE")
    assert rows[1][:5] == (2, 1, 2, "2", "prim")
    assert "OCTET STRING      :AABB  [BER constructed string, content concatenated]" in out
    assert "BOOLEAN           :TRUE" in out
    # --ber: no note
    rc, out2, err2 = run_dump(data, "--ber")
    assert (rc, out2, err2) == (0, out, "")


def test_ber_vector_from_asn1crypto():
    data = (VECTORS / "asn1crypto" / "cms-signed-indefinite-length.der").read_bytes()[:-1]  # drop the newline
    rc, out, err = run_dump(data)
    assert rc == 0 and "note:" in err
    assert ":signedData (1.2.840.113549.1.7.2)" in out
    assert "l=inf" in out


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("data, fragment", [
    (H("30 03 02 02 00 01"), "(byte 2) [truncated]"),
    (H("30 00 00"), "(byte 2) [trailing-data]"),
    (H("30 03 02 02 00"), "(byte 2) [truncated]"),
    (H("30 05 02 02 00 01 00"), "(byte 2) [non-minimal-integer]"),
    (H("30 80 02 01 00"), "(byte 0) [truncated]"),
    (b"", "[invalid-pem]"),
    (b"-----BEGIN X-----\nMAMC!AQU=\n-----END X-----\n", "(byte 0) [invalid-pem]"),
])
def test_errors_are_one_line_with_offset(data, fragment):
    rc, out, err = run_dump(data)
    assert rc == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert fragment in err


def test_cli_main_in_process(capsys, tmp_path):
    f = tmp_path / "x.der"
    f.write_bytes(H("30 03 02 01 05"))
    assert main(["dump", str(f)]) == 0
    cap = capsys.readouterr()
    assert cap.out == "    0:d=0  hl=2 l=   3 cons: SEQUENCE\n    2:d=1  hl=2 l=   1 prim:  INTEGER           :5\n"
    assert main(["dump", str(tmp_path / "missing.der")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot read")
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["nosuchcommand"])
    assert info.value.code == 2


def test_dispatch_table_has_dump():
    assert "dump" in SUBCOMMANDS


def test_python_dash_m_subprocess(tmp_path):
    f = tmp_path / "csr.pem"
    f.write_text(pem.encode("CERTIFICATE REQUEST", CSR.read_bytes()))
    proc = subprocess.run([sys.executable, "-m", "estcodec", "dump", str(f)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "    0:d=0  hl=4 l= 645 cons: SEQUENCE"
    bad = tmp_path / "bad.der"
    bad.write_bytes(H("30 05 02 01"))
    proc = subprocess.run([sys.executable, "-m", "estcodec", "dump", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "byte 0" in proc.stderr
    # stdin
    proc = subprocess.run([sys.executable, "-m", "estcodec", "dump", "-"], input=CSR.read_bytes(),
                          capture_output=True)
    assert proc.returncode == 0 and proc.stdout.startswith(b"    0:d=0  hl=4 l= 645 cons: SEQUENCE")
