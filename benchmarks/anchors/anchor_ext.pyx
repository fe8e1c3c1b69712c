# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Anchor (b): a hand-written decoder of one small model, to measure the schema engine's overhead against.

    Extension ::= SEQUENCE {
        extnID     OBJECT IDENTIFIER,
        critical   BOOLEAN DEFAULT FALSE,
        extnValue  OCTET STRING }

The result is a cdef-class object created with ``Extension.__new__(Extension)`` and filled by direct field
assignment (the fastest way ARCHITECTURE.md "Speed" found). It applies the same checks a strict DER schema
decoder must: exact tags, definite minimal lengths, BOOLEAN only 0x00/0xFF, DEFAULT FALSE not encoded,
well-formed OID (no 0x80 padding, last byte complete), primitive OCTET STRING, nothing after the end. The OID
is turned into its dotted string through a small C hash table keyed by the raw OID bytes. Like the schema
models it keeps ``raw`` (the input object, not a copy).

Benchmark code only: compiled at benchmark time into benchmarks/_build, never shipped.
"""
from libc.stdint cimport uint64_t
from libc.string cimport memcmp, memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeASCII
from cpython.ref cimport PyObject, Py_INCREF


class AnchorDecodeError(ValueError):
    pass


cdef class Extension:
    cdef public str extn_id
    cdef public bint critical
    cdef public bytes extn_value
    cdef public object raw

    def __repr__(self):
        return f"Extension(extn_id={self.extn_id!r}, critical={self.critical!r}, extn_value={self.extn_value!r})"


include "_common.pxi"


# ---------------------------------------------------------------------------------------------------------


cdef Extension _decode(bytes data):
    cdef Cursor c
    cdef Py_ssize_t n, seq_end
    cdef Extension ext = Extension.__new__(Extension)
    c.buf = <const unsigned char*>PyBytes_AS_STRING(data)
    c.pos = 0
    c.end = PyBytes_GET_SIZE(data)
    n = _expect(&c, 0x30)
    if c.pos + n != c.end:
        _fail("trailing-data", c.pos + n)
    seq_end = c.end
    # extnID
    n = _expect(&c, 0x06)
    ext.extn_id = _oid(c.buf + c.pos, n, c.pos)
    c.pos += n
    # critical BOOLEAN DEFAULT FALSE
    if c.pos < seq_end and c.buf[c.pos] == 0x01:
        n = _expect(&c, 0x01)
        if n != 1:
            _fail("invalid-boolean", c.pos)
        if c.buf[c.pos] == 0xFF:
            ext.critical = True
        elif c.buf[c.pos] == 0x00:
            _fail("default-encoded", c.pos)
        else:
            _fail("invalid-boolean", c.pos)
        c.pos += 1
    else:
        ext.critical = False
    # extnValue OCTET STRING (primitive in DER: a constructed 0x24 fails the tag check)
    if c.pos >= seq_end:
        _fail("missing-field", c.pos)
    n = _expect(&c, 0x04)
    ext.extn_value = PyBytes_FromStringAndSize(<const char*>c.buf + c.pos, n)
    c.pos += n
    if c.pos != seq_end:
        _fail("unexpected-tag", c.pos)
    ext.raw = data
    return ext


def decode_extension(bytes data not None):
    """Decode one DER Extension."""
    return _decode(data)


def decode_all(list items not None):
    """Decode every DER Extension in ``items`` (one Python call for the whole list)."""
    cdef list out = []
    cdef bytes d
    for d in items:
        out.append(_decode(d))
    return out
