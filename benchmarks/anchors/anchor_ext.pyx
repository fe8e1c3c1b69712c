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


cdef int _fail(str reason, Py_ssize_t offset) except -1:
    raise AnchorDecodeError(f"{reason} at byte {offset}")


# ---------------------------------------------------------------------------------------------------------
# the checked cursor


cdef struct Cursor:
    const unsigned char* buf
    Py_ssize_t pos
    Py_ssize_t end


cdef inline Py_ssize_t _expect(Cursor* c, unsigned char tag) except -1:
    """Read the header of an element whose (one-byte) tag must be ``tag``; return its content length."""
    cdef Py_ssize_t start = c.pos
    cdef Py_ssize_t p = start
    cdef Py_ssize_t length = 0, n, i
    cdef unsigned char b
    if c.end - p < 2:
        _fail("truncated", p)
    if c.buf[p] != tag:
        _fail("unexpected-tag", p)
    b = c.buf[p + 1]
    p += 2
    if b < 0x80:
        length = b
    elif b == 0x80:
        _fail("indefinite-length", start)
    else:
        n = b & 0x7F
        if n > 8 or n > c.end - p:
            _fail("length-too-long", start)
        length = 0
        for i in range(n):
            length = (length << 8) | c.buf[p + i]
        p += n
        if length < 0x80 or (n > 1 and c.buf[p - n] == 0):
            _fail("non-minimal-length", start)
    if length > c.end - p:
        _fail("truncated", start)
    c.pos = p
    return length


# ---------------------------------------------------------------------------------------------------------
# OID -> dotted string, with a cache keyed by the raw bytes

cdef enum:
    CACHE_SLOTS = 512
    CACHE_KEY_MAX = 24


cdef struct CacheEntry:
    uint64_t hash
    Py_ssize_t length
    unsigned char key[CACHE_KEY_MAX]
    PyObject* value


cdef CacheEntry _cache[CACHE_SLOTS]


cdef inline uint64_t _fnv1a(const unsigned char* p, Py_ssize_t n):
    cdef uint64_t h = 1469598103934665603ULL
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 1099511628211ULL
    return h


cdef str _oid_uncached(const unsigned char* p, Py_ssize_t n, Py_ssize_t offset):
    cdef char out[512]
    cdef char digits[24]
    cdef Py_ssize_t o = 0, i = 0, k
    cdef uint64_t arc
    cdef bint first = True
    cdef int nd
    if n == 0:
        _fail("invalid-oid", offset)
    if p[n - 1] & 0x80:
        _fail("invalid-oid", offset)
    while i < n:
        if p[i] == 0x80:
            _fail("invalid-oid", offset)
        arc = 0
        while True:
            if arc >> 56:
                return _oid_slow(PyBytes_FromStringAndSize(<const char*>p, n))
            arc = (arc << 7) | (p[i] & 0x7F)
            i += 1
            if not (p[i - 1] & 0x80):
                break
        if first:
            first = False
            if arc < 40:
                out[o] = 48  # '0'
            elif arc < 80:
                out[o] = 49  # '1'
                arc -= 40
            else:
                out[o] = 50  # '2'
                arc -= 80
            o += 1
        if o > 480:
            return _oid_slow(PyBytes_FromStringAndSize(<const char*>p, n))
        out[o] = 46  # '.'
        o += 1
        nd = 0
        while True:
            digits[nd] = <char>(48 + arc % 10)
            nd += 1
            arc //= 10
            if arc == 0:
                break
        for k in range(nd):
            out[o + k] = digits[nd - 1 - k]
        o += nd
    return PyUnicode_DecodeASCII(out, o, NULL)


def _oid_slow(bytes raw):
    arcs = []
    v = 0
    for b in raw:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(v)
            v = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))


cdef inline str _oid(const unsigned char* p, Py_ssize_t n, Py_ssize_t offset):
    cdef uint64_t h
    cdef CacheEntry* e
    cdef str s
    if n > CACHE_KEY_MAX:
        return _oid_uncached(p, n, offset)
    h = _fnv1a(p, n)
    e = &_cache[h & (CACHE_SLOTS - 1)]
    if e.value != NULL and e.hash == h and e.length == n and memcmp(e.key, p, n) == 0:
        return <str>e.value
    s = _oid_uncached(p, n, offset)
    if e.value == NULL:  # first come keeps the slot; entries live as long as the module
        Py_INCREF(s)
        e.value = <PyObject*>s
        e.hash = h
        e.length = n
        memcpy(e.key, p, n)
    return s


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
