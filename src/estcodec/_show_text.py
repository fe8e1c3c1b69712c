"""Text output of :mod:`estcodec.show`: a summary as readable lines, with input text made safe for a terminal."""
from __future__ import annotations

from typing import Any

__all__ = ["format_text", "terminal_safe"]


_LABELS = {
    "not_before": "not before", "not_after": "not after", "signature_algorithm": "signature",
    "key_usage": "key usage", "extended_key_usage": "extended key usage", "subject_alt_names": "subject alt names",
    "subject_key_identifier": "subject key id", "sha256_fingerprint": "SHA-256", "self_issued": "self-issued",
    "signature_valid": "signature valid", "challenge_password": "challengePassword",
    "challenge_password_requested": "challengePassword requested", "key_types": "key types",
    "signature_verified": "signature verified", "transaction_id": "transaction id", "body_parts": "body part ids",
    "cms_sequence": "cms sequence", "other_msg_sequence": "other messages", "status_string": "status string",
    "fail_info": "failInfo", "pend_info": "pendInfo", "pend_token": "pend token", "pend_time": "pend time",
    "body_list": "body list", "body_part_id": "body part id", "content_type": "content type",
    "content_encryption": "content encryption", "encrypted_content": "encrypted content",
    "key_encryption": "key encryption", "key_derivation": "key derivation", "kek_id": "KEK id",
    "public_key_included": "public key included", "encrypted_bytes": "encrypted bytes",
    "digest_algorithms": "digest algorithms", "pem_label": "PEM label", "rsa_key_size": "RSA key size",
    "key_algorithm": "key algorithm", "ori_type": "ori type",
}


def _label(key: str) -> str:
    return _LABELS.get(key, key.replace("_", " "))


# Text that comes from the input (names, SAN values, labels) is printed to a terminal: control characters (C0,
# DEL, C1) and the Unicode bidirectional overrides are shown escaped, so a certificate cannot move the cursor,
# recolour the screen or reorder what the reader sees.
_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_UNSAFE.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


def terminal_safe(text: str) -> str:
    """``text`` with control characters and bidirectional overrides written as ``\\xNN`` / ``\\uNNNN``."""
    return text.translate(_UNSAFE)


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return terminal_safe(str(v))


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    out: list[str] = []
    if isinstance(value, dict):
        width = max((len(_label(k)) for k in value), default=0)
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v and not all(not isinstance(x, (dict, list)) for x in
                                                              (v.values() if isinstance(v, dict) else v)):
                out.append(f"{pad}{_label(k)}:")
                out.extend(_lines(v, indent + 1))
            elif isinstance(v, list):
                text = ", ".join(_scalar(x) for x in v) if v else "none"
                out.append(f"{pad}{_label(k) + ':':<{width + 1}} {text}")
            elif isinstance(v, dict):
                out.append(f"{pad}{_label(k)}:")
                out.extend(_lines(v, indent + 1))
            else:
                out.append(f"{pad}{_label(k) + ':':<{width + 1}} {_scalar(v)}")
    elif isinstance(value, list):
        for i, v in enumerate(value, 1):
            if isinstance(v, dict):
                sub = _lines(v, 0)
                out.append(f"{pad}- {sub[0] if sub else ''}")
                out.extend(f"{pad}  {line}" for line in sub[1:])
            elif isinstance(v, list):
                out.append(f"{pad}[{i}]")
                out.extend(_lines(v, indent + 1))
            else:
                out.append(f"{pad}- {_scalar(v)}")
    else:
        out.append(pad + _scalar(value))
    return out


def format_text(summary: dict[str, Any]) -> str:
    """Readable lines for one summary, headed by the structure's name."""
    head = f"{summary['name']} ({summary['encoding']}, {summary['size']} bytes)"
    if summary.get("pem_label"):
        head += f", PEM {summary['pem_label']}"
    body = {k: v for k, v in summary.items() if k not in ("type", "name", "encoding", "size", "pem_label")}
    return "\n".join([head] + _lines(body, 1))


