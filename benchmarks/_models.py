"""Models declared with ``estcodec.schema`` for the benchmark (no ``from __future__ import annotations`` here:
the schema reads the annotations as types)."""
from estcodec.schema import Boolean, ObjectIdentifier, OctetString, Sequence, field


class Extension(Sequence, gc=False):
    """RFC 5280: Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }

    Declared as estcodec.x509 declares its models (``gc=False``: no instance dict, not tracked by the cyclic GC),
    like the objects the hand-written anchors make."""

    extn_id: ObjectIdentifier
    critical: Boolean = field(default=False)
    extn_value: OctetString


class ExtensionDefault(Sequence):
    """The same model with the default declaration (instances with a ``__dict__``, tracked by the cyclic GC)."""

    extn_id: ObjectIdentifier
    critical: Boolean = field(default=False)
    extn_value: OctetString
