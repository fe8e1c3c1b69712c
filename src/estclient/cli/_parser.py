"""The ``est`` argument parser, declared once: the commands' options, ``--help`` texts and epilogue (also
the source of the shell completions and the man page)."""
from __future__ import annotations

import argparse
from typing import Sequence

__all__ = ["build_parser", "add_testserver_options", "add_subject_flags", "add_batch_arguments", "EXAMPLES", "EPILOG"]

EXAMPLES = """\
examples:
  est demo                                    # every operation against a throwaway local CA
  est testserver --ca-out ca.pem              # a test EST server for other clients (Ctrl-C stops)
  est cacerts -s https://est.example:8443 --bootstrap-fingerprint SHA256HEX --out ca.pem
  est enroll -s https://est.example:8443 --trust ca.pem -u dev1 --password-file pw \\
      --cn dev1 --san-dns dev1.example --out dev1.pem --key-out dev1.key
  est reenroll -s https://est.example:8443 --trust ca.pem --cert dev1.pem --key dev1.key \\
      --out dev1.pem --key-out dev1.key --force
  est batch devices.csv -s https://est.example:8443 --trust ca.pem -u fab --password-file pw -c 50
  est renew --watch -s https://est.example:8443 --trust ca.pem --cert dev1.pem --key dev1.key --threshold 7d
  est show response.der                       # what is in this file? (certificate, CSR, CMC, CMS, key...)

"""

EPILOG = """\
exit status:
  0  success
  1  other error (unreadable input file, unexpected failure)
  2  usage or configuration error
  3  authentication refused (HTTP 401: wrong user/password or client certificate)
  4  TLS error (server not trusted, bad trust anchors or client identity, bootstrap fingerprint mismatch)
  5  the server refused the request (HTTP 4xx/5xx, CMC failure) or does not offer the operation
  6  protocol error (the server's answer does not follow RFC 7030)
  7  still pending: HTTP 202 beyond --max-wait, or a CMC pending status
  8  network error (connection refused, reset, timed out)
  9  output file exists (use --force) or cannot be written

environment (flags win over the environment, the environment over the --config file):
  EST_SERVER EST_LABEL EST_TRUST EST_BOOTSTRAP_FINGERPRINT EST_CERT EST_KEY EST_USER EST_PASSWORD
  EST_PASSWORD_FILE EST_DIGEST EST_TIMEOUT EST_MIN_RETRY_DELAY EST_CHANNEL_BINDING EST_PROXY EST_HEADER
  EST_HOST_HEADER EST_CONFIG; keys: EST_KEY_PASSWORD EST_PKCS11_PIN EST_PKCS11_MODULE

config file (TOML; `est config init` writes a commented one with sections), or keys as the long flags
without dashes, e.g.:
  server = "https://est.example.com:8443"
  label = "arbitraryLabel1"
  trust = "ca.pem"              # relative paths are relative to the config file
  user = "estuser"
  password_file = "est.pass"
"""



def add_subject_flags(p: argparse.ArgumentParser, *, require_subject: bool = False) -> None:
    g = p.add_argument_group("the request (subject, names, key)")
    g.add_argument("--cn", "--common-name", dest="cn", help="subject commonName")
    g.add_argument("--org", help="subject organizationName")
    g.add_argument("--ou", action="append", default=[], help="subject organizationalUnitName (repeatable)")
    g.add_argument("--country", help="subject countryName (two letters)")
    g.add_argument("--state", help="subject stateOrProvinceName")
    g.add_argument("--locality", help="subject localityName")
    g.add_argument("--serial-number", dest="subject_serial", metavar="SERIAL",
                   help="subject serialNumber (e.g. a device id)")
    g.add_argument("--san-dns", action="append", default=[], metavar="NAME", help="subjectAltName dNSName")
    g.add_argument("--san-ip", action="append", default=[], metavar="ADDR", help="subjectAltName iPAddress")
    g.add_argument("--san-email", action="append", default=[], metavar="ADDR", help="subjectAltName rfc822Name")
    g.add_argument("--san-uri", action="append", default=[], metavar="URI", help="subjectAltName URI")
    g.add_argument("--key-type", default=None,
                   help="ec-p256 (default), ec-p384, ec-p521, rsa-2048, rsa-3072, rsa-4096, ed25519, ed448")
    g.add_argument("--key-usage", action="append", default=[], metavar="USAGE",
                   help="keyUsage: digital_signature, key_encipherment, key_agreement, ... (repeatable)")
    g.add_argument("--eku", action="append", default=[], metavar="USAGE",
                   help="extendedKeyUsage: client_auth, server_auth, ... or a dotted OID (repeatable)")
    g.add_argument("--hash", choices=["sha256", "sha384", "sha512"], help="CSR signature hash")
    g.add_argument("--use-key", metavar="FILE|URI",
                   help="an existing private key for the request (default: a new one): a key file (encrypted: "
                        "--key-password-file) or a pkcs11: URI of a key on a token (PIN: --pin-file)")
    g.add_argument("--no-csrattrs", action="store_true",
                   help="do not fetch and apply the server's /csrattrs (key type, extensions, template)")



def _add_key_source_flags(g: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--pin-file`` and ``--key-password-file``: how a key named by --key or --use-key is opened."""
    g.add_argument("--pin-file", metavar="FILE",
                   help="the PKCS#11 token PIN (first line) for a pkcs11: key (else pin-source= in the URI or "
                        "EST_PKCS11_PIN; a pin-value= URI is refused)")
    g.add_argument("--key-password-file", metavar="FILE",
                   help="the password (first line) of an encrypted key file given as --key or --use-key "
                        "(else EST_KEY_PASSWORD)")


def _common_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("server and credentials (also EST_* variables and --config)")
    g.add_argument("--server", "-s", metavar="URL", help="EST server, https://host[:port] (EST_SERVER)")
    g.add_argument("--label", metavar="LABEL", help="CA label (RFC 7030 §3.2.2)")
    g.add_argument("--trust", metavar="PEM", help="trust anchors for the server (default: the system store)")
    g.add_argument("--bootstrap-fingerprint", metavar="SHA256",
                   help="bootstrap: accept the server's CA with this SHA-256 fingerprint (RFC 7030 §4.1.1)")
    g.add_argument("--cert", metavar="PEM", help="TLS client certificate (the current identity)")
    g.add_argument("--key", metavar="PEM", help="private key of --cert (encrypted: --key-password-file; a pkcs11: "
                   "URI for reenroll/renew with HTTP credentials, see docs/hardware-keys.md)")
    _add_key_source_flags(g)
    g.add_argument("--user", "-u", metavar="NAME", help="HTTP user name")
    g.add_argument("--password", metavar="PW",
                   help="HTTP password (visible to other local users: prefer --password-file or EST_PASSWORD)")
    g.add_argument("--password-file", metavar="FILE", help="read the HTTP password from FILE")
    g.add_argument("--digest", action="store_true", default=None, help="HTTP Digest instead of Basic")
    g.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="network timeout of each step (default 30); a whole exchange gets 4 times as long")
    g.add_argument("--min-retry-delay", type=float, metavar="SECONDS",
                   help="wait at least this long before repeating a request the server answered 202 (default 1)")
    g.add_argument("--channel-binding", choices=["auto", "require", "off"], default=None,
                   help="bind CSRs to the TLS session (RFC 7030 §3.5): auto (default: on TLS 1.2), require, off")
    g.add_argument("--config", metavar="TOML", help="settings file (EST_CONFIG)")
    n = p.add_argument_group("network")
    n.add_argument("--proxy", metavar="URL",
                   help="tunnel through this HTTP proxy (http://[user:pw@]host:port, CONNECT); 'env': the "
                        "environment's https_proxy/no_proxy (never used unless asked) (EST_PROXY)")
    n.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="add this header to every request (repeatable)")
    n.add_argument("--host-header", metavar="HOST",
                   help="send this Host header (a server behind a front end); TLS still checks --server's name")
    d = p.add_argument_group("diagnostics")
    d.add_argument("-v", "--verbose", action="count", default=0,
                   help="print each request and response line, TLS version and cipher, the server's certificate "
                        "and what was decided (trust, binding) on stderr")
    d.add_argument("--debug", action="store_true",
                   help="like -v, and the headers of each exchange (credentials redacted)")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    o.add_argument("--format", choices=["pem", "der"], default=None, help="format of written files (default pem)")
    o.add_argument("--force", action="store_true", help="replace existing output files")
    o.add_argument("--quiet", "-q", action="store_true", help="no progress or summary text")
    return p


def _add_outputs(p: argparse.ArgumentParser, *, key: bool = True, token: bool = True) -> None:
    p.add_argument("--out", "-o", metavar="FILE", help="certificate file (default: PEM on stdout)")
    if key:
        p.add_argument("--key-out", metavar="FILE|URI" if token else "FILE",
                       help="private key file (written mode 0600)" + (
                           "; or pkcs11:token=...;object=... to make the key on the token" if token else ""))
        _add_key_out_flags(p, token=token)


def _add_key_out_flags(p: argparse.ArgumentParser, *, token: bool = True) -> None:
    p.add_argument("--key-out-password-file", metavar="FILE",
                   help="write --key-out encrypted (PKCS#8, the best encryption cryptography offers) with the "
                        "password on the first line of FILE")
    if token:
        p.add_argument("--store-cert-on-token", action="store_true",
                       help="with --key-out pkcs11:...: also keep the issued certificate on the token beside the key")


def _add_wait(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-wait", type=float, default=300.0, metavar="SECONDS",
                   help="how long to keep retrying while the server answers 202 (default 300; 0: do not wait)")


def add_testserver_options(p: argparse.ArgumentParser) -> None:
    """The reference server's options shared by ``est testserver`` and ``python -m estclient.testing`` (each adds
    its own --pending, --ca-out and the rest)."""
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free port)")
    p.add_argument("--auth", choices=["basic", "digest", "cert", "none"], default="basic")
    p.add_argument("--user", default="estuser")
    p.add_argument("--password", default=None, help="default: a random one, printed at start")
    p.add_argument("--label", action="append", default=[], help="CA label (repeatable)")
    p.add_argument("--channel-binding", action="store_true", help="require tls-unique in CSRs (caps TLS at 1.2)")
    p.add_argument("--kek", action="append", default=[], metavar="ID_HEX:KEY_HEX",
                   help="a KEK for encrypted server-side key generation (repeatable)")
    p.add_argument("--cert-lifetime", type=float, default=30 * 86400, metavar="SECONDS")
    p.add_argument("--digest-algorithm", choices=["MD5", "SHA-256"], default="SHA-256",
                   help="HTTP Digest algorithm with --auth digest (libest and Bouncy Castle speak MD5)")
    p.add_argument("--server-key-type", choices=["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519"],
                   default=None, help="key type of server-generated keys (default: the CSR key's family)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="one line per request on stderr: method, path, status, auth, bytes, milliseconds")


def add_batch_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``est batch`` (declared here, so that parsing needs no module of the command itself)."""
    p.add_argument("file", metavar="FILE", help="identities: CSV with a header line, or JSON lines (.jsonl)")
    p.add_argument("--renew", action="store_true",
                   help="re-enroll the pairs listed (cert/key, default cert_out/key_out) instead of enrolling")
    p.add_argument("--concurrency", "-c", type=int, default=20, metavar="N",
                   help="identities in flight at once, and connections to the server (default 20)")
    p.add_argument("--out-dir", metavar="DIR", help="base of relative output paths (default: FILE's directory)")
    p.add_argument("--threshold", metavar="DURATION", default=None,
                   help="with --renew: renew when less than this is left (e.g. 30d; default: a third of the "
                        "certificate's lifetime)")
    p.add_argument("--max-wait", type=float, default=300.0, metavar="SECONDS",
                   help="how long each identity keeps retrying while the server answers 202 (default 300)")
    p.add_argument("--progress", choices=["auto", "always", "never"], default="auto",
                   help="progress bar on stderr: auto (when stderr is a terminal), always, never")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``est`` argument parser. Given the command line it is for (``argv``), it leaves out the options of
    ``batch`` and ``show`` (and the modules that declare them) unless that command's name is one of the words:
    every command stays listed in ``est --help``, and ``est batch --help`` still shows its options."""
    words = None if argv is None else set(argv)
    common = _common_parent()
    parser = argparse.ArgumentParser(
        prog="est", description="EST (RFC 7030) client: enroll certificates from an EST server.",
        epilog=EXAMPLES + EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from estcodec import __version__

    parser.add_argument("--version", action="version", version=f"est {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(name: str, help_text: str, *, parents: bool = True,
            description: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=description or help_text,
                           parents=[common] if parents else [], epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        return p

    p = add("cacerts", "fetch the CA certificates (/cacerts)",
            description="Fetch the CA certificates (/cacerts). Without --out they are printed as PEM. "
                        "--format der with --out writes a certs-only PKCS#7 (as the server sent); with --out-dir "
                        "one DER certificate per file.")
    p.add_argument("--out", "-o", metavar="FILE", help="write the selected certificates to one file")
    p.add_argument("--out-dir", metavar="DIR", help="write one file per certificate (NN-ROLE-NAME.pem)")
    p.add_argument("--select", choices=["all", "roots", "intermediates"], default="all",
                   help="roots (self-signed) or intermediates (everything else, rollover certificates included)")

    p = add("csrattrs", "show the CSR attributes the server wants (/csrattrs)")
    p.add_argument("--out", "-o", metavar="FILE", help="also write the CsrAttrs (PEM or DER)")

    p = add("csr", "make a key and a CSR (from flags and, with --from-server, the server's /csrattrs)")
    add_subject_flags(p)
    p.add_argument("--out", "-o", metavar="FILE", help="the certification request")
    p.add_argument("--key-out", metavar="FILE|URI",
                   help="the new private key (mode 0600), or pkcs11:token=...;object=... to make it on the token")
    _add_key_out_flags(p, token=False)
    p.add_argument("--from-server", action="store_true", help="apply the server's /csrattrs")

    for name, text in (("enroll", "enroll: get a certificate for a new key (/simpleenroll)"),
                       ("reenroll",
                        "renew the current certificate (--cert/--key) with a new key (/simplereenroll)")):
        p = add(name, text)
        add_subject_flags(p)
        _add_outputs(p)
        _add_wait(p)
        p.add_argument("--csr", metavar="FILE", help="send this ready-made request (PEM/DER) instead")
        if name == "reenroll":
            p.add_argument("--same-key", action="store_true", help="keep the current key (default: a new key)")
        else:
            p.set_defaults(same_key=False)
        from ._resume import add_resume_flag

        add_resume_flag(p)

    p = add("serverkeygen", "let the server generate the key (/serverkeygen)")
    add_subject_flags(p)
    _add_outputs(p, token=False)
    _add_wait(p)
    p.add_argument("--kek-id", metavar="HEX", help="ask for the key encrypted to this KEK id (RFC 7030 §4.4.1.1)")
    p.add_argument("--kek-file", metavar="FILE", help="the KEK (AES key, raw or hex) to decrypt it locally")
    p.add_argument("--encrypt-to-cert", action="store_true",
                   help="ask for the key encrypted to the key of --cert (RFC 7030 §4.4.1.2), decrypted with --key")

    p = add("fullcmc", "enroll with a Full PKI Request (/fullcmc)")
    add_subject_flags(p)
    _add_outputs(p)
    _add_wait(p)
    p.add_argument("--csr", metavar="FILE", help="wrap this ready-made request (needs --use-key)")
    p.add_argument("--response-out", metavar="FILE", help="also write the Full PKI Response (DER)")
    p.add_argument("--request-out", metavar="FILE",
                   help="also write the Full PKI Request (DER, signed by the request's key: `openssl cms -verify` "
                        "checks it)")

    p = add("renew", "renew --cert/--key when they near expiry (once, or --watch as a daemon)")
    p.add_argument("--threshold", default=None, metavar="DURATION",
                   help="renew when the certificate expires within this (e.g. 30d, 12h, 90s; default: when a "
                        "third of its lifetime is left)")
    p.add_argument("--check-interval", default="1h", metavar="DURATION", help="with --watch: how often to check")
    p.add_argument("--max-retries", type=int, default=3, metavar="N",
                   help="retries after a failed first attempt: at most N+1 attempts per renewal (default 3)")
    p.add_argument("--retry-delay", default="5s", metavar="DURATION", help="first retry delay (doubles)")
    p.add_argument("--watch", action="store_true", help="keep running and renew whenever needed")
    p.add_argument("--same-key", action="store_true", help="keep the key (default: a new key each time)")

    p = add("batch", "enroll or renew every identity listed in a CSV or JSON-lines file",
            description="Enroll (or --renew) the identities of a CSV or JSON-lines file, --concurrency at a time, "
                        "with a progress bar and a summary; a rerun skips identities that hold a valid pair.")
    if words is None or "batch" in words:
        add_batch_arguments(p)

    p = add("demo", "walk through every EST operation against a local test server", parents=False)
    p.add_argument("--json", action="store_true", help="print a JSON report of the steps")
    p.add_argument("--keep", metavar="DIR", help="also write the CA, certificates and keys into DIR")
    p.add_argument("--force", action="store_true", help="with --keep: replace files left by an earlier demo")

    p = add("testserver", "run the reference EST test server in the foreground (Ctrl-C stops)",
            parents=False)
    add_testserver_options(p)
    p.add_argument("--pending", type=float, default=None, metavar="SECONDS",
                   help="answer the first request of each key with 202 and this Retry-After")
    p.add_argument("--ca-out", metavar="FILE", help="write the trust anchor (CA certificate PEM) here")
    p.add_argument("--revocation", action="store_true",
                   help="serve a CRL and an OCSP responder over HTTP (loopback) and name them in issued certificates")
    p.add_argument("--reenroll-with-credentials", action="store_true",
                   help="also accept /simplereenroll authenticated by HTTP credentials without a TLS client "
                        "certificate (it renews the newest certificate issued to the CSR's subject)")
    p.add_argument("--force", action="store_true", help="replace an existing --ca-out file")

    p = add("check", "check each step to the server and say what fails and what to do",
            description="Walk the settings, TCP connectivity, the TLS handshake and the server's authorization, "
                        "/cacerts, /csrattrs and the credentials (one empty request to /simpleenroll, which no CA "
                        "can issue for), and say what failed and what to do (see docs/troubleshooting.md).")
    p.add_argument("--no-credentials-probe", action="store_true",
                   help="do not send the empty /simpleenroll request that checks the credentials")

    p = add("export", "write a certificate (chain, key) as pem, der or pfx (PKCS#12)", parents=False,
            description="Write the certificate of --cert as --format pem (certificate then chain), der (the "
                        "certificate alone) or pfx (PKCS#12, its password from --password-file); --include-key adds "
                        "the key of --key, --chain-out writes the chain to its own file. Talks to no server.")
    p.add_argument("--cert", required=True, metavar="FILE", help="the certificate, and its chain (PEM, DER or "
                   "certs-only PKCS#7)")
    p.add_argument("--key", metavar="FILE|URI", help="its private key (checked to match; a pkcs11: key cannot be "
                   "included)")
    _add_key_source_flags(p)
    p.add_argument("--format", choices=["pem", "der", "pfx"], default="pem", help="output format (default pem)")
    p.add_argument("--include-key", action="store_true", help="put the key in the output (pem or pfx)")
    p.add_argument("--out", "-o", metavar="FILE", help="output file ('-': stdout; the default for pem)")
    p.add_argument("--chain-out", metavar="FILE", help="write the chain here instead of into --out")
    p.add_argument("--password-file", metavar="FILE",
                   help="password (first line) protecting the PKCS#12 file or the PEM key")
    p.add_argument("--name", help="friendly name inside the PKCS#12 file (default: the subject)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")

    p = add("completion", "print a shell completion script (bash, zsh or fish)", parents=False,
            description="Print the completion script of SHELL, generated from this parser: "
                        "bash: source <(est completion bash); zsh: est completion zsh > ~/.zfunc/_est (a directory "
                        "of $fpath); fish: est completion fish > ~/.config/fish/completions/est.fish")
    p.add_argument("shell", choices=["bash", "zsh", "fish"])
    add("manpage", "print the est(1) man page (roff), generated from this parser", parents=False,
        description="Print est(1) in roff: est manpage > est.1 && man ./est.1")

    from . import _agent, _config, _status

    _agent.add_parser(sub)
    _config.add_parser(sub)
    _status.add_parser(sub)

    p = add("show", "recognise and summarise a PKI file (certificate, CSR, CMC, CMS, CSR attributes, key)",
            parents=False)
    if words is None or "show" in words:
        from estcodec.show import add_arguments

        add_arguments(p)
    return parser

