# Shared by the hand-written anchors (included, not compiled alone): the checked cursor, the error helper and
# the OID-to-string conversion with a C hash table keyed by the raw OID bytes.
# The includer defines ``AnchorDecodeError`` and cimports what is listed in its own header.

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
# more cursor helpers (used by the certificate anchor)


cdef inline Py_ssize_t _any(Cursor* c, unsigned char* tag_out) except -1:
    """Read the header of the next element whatever its (one-byte) tag; return its content length."""
    if c.pos >= c.end:
        _fail("truncated", c.pos)
    tag_out[0] = c.buf[c.pos]
    if (tag_out[0] & 0x1F) == 0x1F:
        _fail("unexpected-tag", c.pos)
    return _expect(c, tag_out[0])


cdef inline bint _at(Cursor* c, unsigned char tag):
    return c.pos < c.end and c.buf[c.pos] == tag
