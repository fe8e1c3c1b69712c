# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Anchor (b2): the X.509 Extension decoded by hand into the *same kind of object* the schema engine makes.

Anchor (b) fills a small cdef class. The schema engine's instances are something else: a Python subclass of the
core's ``Model`` (slot array, source bytes and offsets kept for byte-exact re-encoding, ``gc=False`` machinery).
To tell the engine's interpretive cost (walking a spec) from the cost of the object it makes, this anchor
compiles a private copy of the core (``include`` of ``_der.pyx``) and writes one decoder by hand that makes the
same objects: a ``Model`` subclass set up like a ``gc=False`` schema class, filled slot by slot, with the same
checks as anchor (b) and the same OID cache as the engine.

Benchmark code only: compiled at benchmark time into benchmarks/_build, never shipped.
"""
include "../../src/estcodec/_der.pyx"


class Extension(Model):
    __slots__ = ()
    extn_id = FieldGetter(0, "extn_id")
    critical = FieldGetter(1, "critical")
    extn_value = FieldGetter(2, "extn_value")


_untracked_instances(Extension)


cdef inline Py_ssize_t _expect(cbuf buf, Py_ssize_t* pos, Py_ssize_t end, unsigned char tag) except -1:
    """Read the header of an element whose one-byte tag must be ``tag``; return its content length."""
    cdef Py_ssize_t start = pos[0]
    cdef Py_ssize_t p = start
    cdef Py_ssize_t length, n, i
    cdef unsigned char b
    if end - p < 2:
        _fail("truncated", p, "truncated")
    if buf[p] != tag:
        _fail("unexpected tag", p, "unexpected-tag")
    b = buf[p + 1]
    p += 2
    if b < 0x80:
        length = b
    elif b == 0x80:
        _fail("indefinite length", start, "indefinite-length")
    else:
        n = b & 0x7F
        if n > 8 or n > end - p:
            _fail("length too long", start, "length-too-long")
        length = 0
        for i in range(n):
            length = (length << 8) | buf[p + i]
        p += n
        if length < 0x80 or (n > 1 and buf[p - n] == 0):
            _fail("non-minimal length", start, "non-minimal-length")
    if length > end - p:
        _fail("truncated", start, "truncated")
    pos[0] = p
    return length


cdef object _by_hand(bytes data):
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(data)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t p = 0
    cdef Py_ssize_t n, cstart
    cdef Model m = <Model>_new_model(<PyObject*>Extension)
    m._alloc(3)
    n = _expect(buf, &p, end, 0x30)
    if p + n != end:
        _fail("trailing data", p + n, "trailing-data")
    cstart = p
    # extnID
    n = _expect(buf, &p, end, 0x06)
    m._put(0, dec_oid(buf, p, p + n, p))
    p += n
    # critical BOOLEAN DEFAULT FALSE
    if p < end and buf[p] == 0x01:
        n = _expect(buf, &p, end, 0x01)
        if n != 1:
            _fail("bad BOOLEAN", p, "invalid-boolean")
        if buf[p] == 0xFF:
            m._put(1, True)
        elif buf[p] == 0x00:
            _fail("DEFAULT encoded", p, "default-encoded")
        else:
            _fail("bad BOOLEAN", p, "invalid-boolean")
        p += 1
    else:
        m._put(1, False)
    # extnValue OCTET STRING (primitive in DER: a constructed 0x24 fails the tag check)
    if p >= end:
        _fail("missing field", p, "missing-field")
    n = _expect(buf, &p, end, 0x04)
    m._put(2, PyBytes_FromStringAndSize(<char*>buf + p, n))
    p += n
    if p != end:
        _fail("unexpected element", p, "unexpected-tag")
    m._src = data
    m._start = 0
    m._cstart = cstart
    m._end = end
    return m


def decode_extension(bytes data not None):
    """Decode one DER Extension into a Model-based instance."""
    return _by_hand(data)


def decode_all(list items not None):
    """Decode every DER Extension in ``items`` (one Python call for the whole list)."""
    cdef list out = []
    cdef bytes d
    for d in items:
        out.append(_by_hand(d))
    return out
