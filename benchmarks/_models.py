"""Models declared with ``estcodec.schema`` for the benchmark (no ``from __future__ import annotations`` here:
the schema reads the annotations as types)."""
from estcodec.schema import Boolean, ObjectIdentifier, OctetString, Sequence, field


class Extension(Sequence):
    """RFC 5280: Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }"""

    extn_id: ObjectIdentifier
    critical: Boolean = field(default=False)
    extn_value: OctetString
