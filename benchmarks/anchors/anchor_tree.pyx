# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Anchor (a): a minimal DER tree builder, the "one tuple per element" reference of issue 2.

Each element becomes ``(tag_byte, offset, content)`` where ``content`` is a ``bytes`` slice for a primitive
element and a tuple of child tuples for a constructed one. It checks what a tree builder cannot skip: every
read is bounds-checked, lengths are definite and minimal, high tag numbers are minimal, nesting is bounded and
the whole input is consumed. It does not validate the contents of universal primitives (estcodec.der.parse
does), so it is a lower bound for a tree builder, not an equivalent of ``der.parse``.

Benchmark code only: compiled at benchmark time into benchmarks/_build, never shipped.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.ref cimport Py_INCREF

cdef enum:
    MAX_DEPTH = 64


class TreeError(ValueError):
    pass


cdef int _fail(str reason, Py_ssize_t offset) except -1:
    raise TreeError(f"{reason} at byte {offset}")


cdef inline Py_ssize_t _header(const unsigned char* buf, Py_ssize_t p, Py_ssize_t end,
                               Py_ssize_t* length_out) except -1:
    """Check the header at ``p``; return where its content starts and store the content length."""
    cdef Py_ssize_t start = p
    cdef Py_ssize_t length = 0, n, i
    cdef unsigned char b
    if p >= end:
        _fail("truncated", p)
    b = buf[p]
    p += 1
    if (b & 0x1F) == 0x1F:  # high tag number: skip it, checking minimal form
        if p >= end:
            _fail("truncated", p)
        if buf[p] == 0x80:
            _fail("non-minimal-tag", start)
        while True:
            if p >= end:
                _fail("truncated", p)
            b = buf[p]
            p += 1
            if not (b & 0x80):
                break
    if p >= end:
        _fail("truncated", p)
    b = buf[p]
    p += 1
    if b < 0x80:
        length = b
    elif b == 0x80:
        _fail("indefinite-length", start)
    else:
        n = b & 0x7F
        if n > 8 or n > end - p:
            _fail("length-too-long", start)
        for i in range(n):
            length = (length << 8) | buf[p + i]
        p += n
        if length < 0x80 or (n > 1 and buf[p - n] == 0):
            _fail("non-minimal-length", start)
    if length > end - p:
        _fail("truncated", start)
    length_out[0] = length
    return p


cdef object _element(const unsigned char* buf, Py_ssize_t start, Py_ssize_t end, Py_ssize_t* next_out,
                     int depth):
    cdef Py_ssize_t length = 0, p, q, cend, count, i, clen = 0
    cdef object content, child
    if depth > MAX_DEPTH:
        _fail("too-deep", start)
    p = _header(buf, start, end, &length)
    cend = p + length
    next_out[0] = cend
    if buf[start] & 0x20:
        # first pass: count the children (header walk), then fill a tuple of that size
        count = 0
        q = p
        while q < cend:
            q = _header(buf, q, cend, &clen) + clen
            count += 1
        content = PyTuple_New(count)
        q = p
        for i in range(count):
            child = _element(buf, q, cend, &q, depth + 1)
            Py_INCREF(child)
            PyTuple_SET_ITEM(content, i, child)
    else:
        content = PyBytes_FromStringAndSize(<const char*>buf + p, length)
    return (buf[start], start, content)


def parse(bytes data not None):
    """Parse one DER element (and nothing after it) into nested tuples."""
    cdef Py_ssize_t pos = 0
    cdef Py_ssize_t end = PyBytes_GET_SIZE(data)
    cdef object tree = _element(<const unsigned char*>PyBytes_AS_STRING(data), 0, end, &pos, 0)
    if pos != end:
        _fail("trailing-data", pos)
    return tree


def count(tree):
    """Number of elements in a tree made by parse() (used to check the corpus)."""
    cdef Py_ssize_t n = 1
    if isinstance(tree[2], tuple):
        for c in tree[2]:
            n += count(c)
    return n
