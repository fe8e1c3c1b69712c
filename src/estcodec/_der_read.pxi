# The reading half of the core: TLV headers through one checked cursor, and the universal primitives.
#
# Every read of the input goes through ``read_header`` (which checks each byte it touches against ``end`` and
# refuses a length that claims more than the input holds before anything is allocated) or through a content
# decoder handed a [start, end) range that ``read_header`` has already checked.

ctypedef const unsigned char* cbuf

# Universal tag numbers.
cdef enum:
    T_EOC = 0
    T_BOOLEAN = 1
    T_INTEGER = 2
    T_BIT_STRING = 3
    T_OCTET_STRING = 4
    T_NULL = 5
    T_OID = 6
    T_OBJECT_DESCRIPTOR = 7
    T_EXTERNAL = 8
    T_REAL = 9
    T_ENUMERATED = 10
    T_EMBEDDED_PDV = 11
    T_UTF8_STRING = 12
    T_RELATIVE_OID = 13
    T_SEQUENCE = 16
    T_SET = 17
    T_NUMERIC_STRING = 18
    T_PRINTABLE_STRING = 19
    T_TELETEX_STRING = 20
    T_VIDEOTEX_STRING = 21
    T_IA5_STRING = 22
    T_UTC_TIME = 23
    T_GENERALIZED_TIME = 24
    T_GRAPHIC_STRING = 25
    T_VISIBLE_STRING = 26
    T_GENERAL_STRING = 27
    T_UNIVERSAL_STRING = 28
    T_CHARACTER_STRING = 29
    T_BMP_STRING = 30

cdef enum:
    CLS_UNIVERSAL = 0
    CLS_APPLICATION = 1
    CLS_CONTEXT = 2
    CLS_PRIVATE = 3

cdef tuple _UNIVERSAL_NAMES = (
    "EOC", "BOOLEAN", "INTEGER", "BIT STRING", "OCTET STRING", "NULL", "OBJECT IDENTIFIER",
    "ObjectDescriptor", "EXTERNAL", "REAL", "ENUMERATED", "EMBEDDED PDV", "UTF8String", "RELATIVE-OID",
    "TIME", "[UNIVERSAL 15]", "SEQUENCE", "SET", "NumericString", "PrintableString", "TeletexString",
    "VideotexString", "IA5String", "UTCTime", "GeneralizedTime", "GraphicString", "VisibleString",
    "GeneralString", "UniversalString", "CHARACTER STRING", "BMPString",
)


cdef str tag_name(int cls, Py_ssize_t tag, bint cons):
    if cls == CLS_UNIVERSAL:
        if 0 <= tag < 31:
            return _UNIVERSAL_NAMES[tag]
        return f"[UNIVERSAL {tag}]"
    if cls == CLS_CONTEXT:
        return f"[{tag}]"
    if cls == CLS_APPLICATION:
        return f"[APPLICATION {tag}]"
    return f"[PRIVATE {tag}]"


cdef struct Header:
    int cls
    bint cons
    bint indef
    Py_ssize_t tag
    Py_ssize_t start    # offset of the identifier octet
    Py_ssize_t cstart   # offset of the first content octet
    Py_ssize_t cend     # offset just past the content (for indefinite lengths: the end of the enclosing range)


cdef int _fail(str detail, Py_ssize_t offset, str reason) except -1:
    raise DecodeError(detail, offset, reason)


cdef inline int read_header(cbuf buf, Py_ssize_t pos, Py_ssize_t end, Header* h, bint ber) except -1:
    """Read one identifier and length at ``pos``; never reads at or past ``end``.

    The common case (tag number below 31, length below 128) is read inline; the rest by ``_read_header_full``."""
    cdef unsigned int b
    cdef unsigned int ln
    if end - pos >= 2:
        b = buf[pos]
        ln = buf[pos + 1]
        if (b & 0x1F) != 0x1F and ln < 0x80 and <Py_ssize_t>ln <= end - pos - 2:
            h.start = pos
            h.cls = b >> 6
            h.cons = (b & 0x20) != 0
            h.tag = b & 0x1F
            h.indef = False
            h.cstart = pos + 2
            h.cend = pos + 2 + ln
            return 0
    return _read_header_full(buf, pos, end, h, ber)


cdef int _read_header_full(cbuf buf, Py_ssize_t pos, Py_ssize_t end, Header* h, bint ber) except -1:
    cdef Py_ssize_t p = pos
    cdef unsigned int b
    cdef Py_ssize_t tag
    cdef Py_ssize_t n, i
    cdef uint64_t length
    if p >= end:
        _fail("input ends where an element was expected", pos, "truncated")
    b = buf[p]
    p += 1
    h.start = pos
    h.cls = b >> 6
    h.cons = (b & 0x20) != 0
    tag = b & 0x1F
    if tag == 0x1F:
        if p >= end:
            _fail("input ends inside a tag", pos, "truncated")
        if buf[p] == 0x80:
            _fail("high tag number with a leading zero group", pos, "non-minimal-tag")
        tag = 0
        while True:
            if p >= end:
                _fail("input ends inside a tag", pos, "truncated")
            b = buf[p]
            p += 1
            tag = (tag << 7) | (b & 0x7F)
            if tag > 0x0FFFFFFF:
                _fail("tag number too large", pos, "tag-too-large")
            if not (b & 0x80):
                break
        if tag < 31:
            _fail("tag number below 31 in the high-tag form", pos, "non-minimal-tag")
    h.tag = tag
    if p >= end:
        _fail("input ends before the length", pos, "truncated")
    b = buf[p]
    p += 1
    if b < 0x80:
        length = b
    elif b == 0x80:
        if not ber:
            _fail("indefinite length is not allowed in DER", pos, "indefinite-length")
        if not h.cons:
            _fail("indefinite length on a primitive element", pos, "indefinite-primitive")
        h.indef = True
        h.cstart = p
        h.cend = end
        return 0
    elif b == 0xFF:
        _fail("length octet 0xFF is reserved", pos, "reserved-length")
    else:
        n = b & 0x7F
        if n > 8:
            _fail(f"length of length {n} is too long", pos, "length-too-long")
        if end - p < n:
            _fail("input ends inside the length", pos, "truncated")
        if not ber and buf[p] == 0:
            _fail("length has leading zero octets", pos, "non-minimal-length")
        length = 0
        for i in range(n):
            length = (length << 8) | buf[p + i]
        p += n
        if not ber and length < 0x80:
            _fail("length below 128 in the long form", pos, "non-minimal-length")
    h.indef = False
    h.cstart = p
    if length > <uint64_t>(end - p):
        _fail(f"length {length} exceeds the {end - p} bytes left", pos, "truncated")
    h.cend = p + <Py_ssize_t>length
    return 0


# ---------------------------------------------------------------------------------------------------------
# Which universal types must be primitive / constructed.

cdef inline bint _is_string_tag(Py_ssize_t tag):
    return tag == T_BIT_STRING or tag == T_OCTET_STRING or tag == T_UTF8_STRING or tag == T_OBJECT_DESCRIPTOR \
        or (T_NUMERIC_STRING <= tag <= T_BMP_STRING and tag != T_CHARACTER_STRING)


cdef inline bint _must_be_primitive(Py_ssize_t tag):
    return tag == T_BOOLEAN or tag == T_INTEGER or tag == T_NULL or tag == T_OID or tag == T_REAL \
        or tag == T_ENUMERATED or tag == T_RELATIVE_OID or tag == T_EOC


cdef inline bint _must_be_constructed(Py_ssize_t tag):
    return tag == T_SEQUENCE or tag == T_SET or tag == T_EXTERNAL or tag == T_EMBEDDED_PDV \
        or tag == T_CHARACTER_STRING


cdef int check_universal_form(Py_ssize_t tag, bint cons, Py_ssize_t off, bint ber) except -1:
    if cons:
        if _must_be_primitive(tag):
            _fail(f"{tag_name(0, tag, cons)} must be primitive", off, "constructed-primitive")
        if not ber and _is_string_tag(tag):
            _fail(f"constructed {tag_name(0, tag, cons)} is not allowed in DER", off, "constructed-primitive")
    else:
        if _must_be_constructed(tag):
            _fail(f"{tag_name(0, tag, cons)} must be constructed", off, "primitive-constructed")
    return 0


# ---------------------------------------------------------------------------------------------------------
# Primitive decoders. Each takes the content range [s, e) (already bounds-checked), the offset of the element
# for error messages, and whether BER leniency applies.

cdef object dec_boolean(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber):
    if e - s != 1:
        _fail("BOOLEAN content must be one octet", off, "invalid-boolean")
    if buf[s] == 0:
        return False
    if buf[s] == 0xFF or ber:
        return True
    _fail("BOOLEAN TRUE must be 0xFF in DER", off, "invalid-boolean")


cdef int check_integer(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off) except -1:
    cdef Py_ssize_t n = e - s
    if n == 0:
        _fail("INTEGER has no content octets", off, "empty-integer")
    if n > 1:
        if (buf[s] == 0 and not (buf[s + 1] & 0x80)) or (buf[s] == 0xFF and (buf[s + 1] & 0x80)):
            _fail("INTEGER is not minimally encoded", off, "non-minimal-integer")
    return 0


cdef object dec_integer(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off):
    cdef Py_ssize_t n = e - s
    cdef uint64_t u
    cdef Py_ssize_t i
    check_integer(buf, s, e, off)
    if n <= 8:
        u = <uint64_t>0xFFFFFFFFFFFFFFFF if (buf[s] & 0x80) else 0
        for i in range(s, e):
            u = (u << 8) | buf[i]
        return <int64_t>u
    return _PyLong_FromByteArray(buf + s, <size_t>n, 0, 1)


cdef int check_null(Py_ssize_t s, Py_ssize_t e, Py_ssize_t off) except -1:
    if e != s:
        _fail("NULL must have no content", off, "invalid-null")
    return 0


# OID cache: direct-mapped, keyed by the raw content octets (a dict keyed by new bytes objects costs more than it
# saves). Entries own a copy of the key octets and a reference to the dotted string.
DEF OID_CACHE_BITS = 12
DEF OID_CACHE_SIZE = 1 << OID_CACHE_BITS
DEF OID_KEY_MAX = 30


cdef struct _OidEntry:
    unsigned char key[OID_KEY_MAX]
    unsigned short n
    PyObject* val


cdef _OidEntry _oid_cache[OID_CACHE_SIZE]

# dotted OID -> the one str object estcodec.oids holds for it (see canonical_oids)
cdef dict _OID_CANON = {}


def canonical_oids(names):
    """Make the decoder hand out the string objects of ``names`` (the keys of ``estcodec.oids.OID_NAMES``) for
    those OIDs, so that dicts keyed by the constants find decoded OIDs by identity (the OIDs cached so far are
    forgotten: they are decoded again, into these objects)."""
    cdef Py_ssize_t i
    for k in names:
        if type(k) is str:
            _OID_CANON[k] = k
    for i in range(OID_CACHE_SIZE):
        Py_XDECREF(_oid_cache[i].val)
        _oid_cache[i].val = NULL
        _oid_cache[i].n = 0


# Longest subidentifier accepted, in octets: 2.25 UUID arcs (128 bits) take 19; anything far longer is an attack
# on the int-to-decimal conversion (quadratic, and refused by CPython past 4300 digits).
DEF MAX_ARC_OCTETS = 32


cdef int check_oid(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint relative) except -1:
    cdef Py_ssize_t i
    cdef Py_ssize_t run = 0
    if e == s:
        _fail("OBJECT IDENTIFIER has no content octets", off, "invalid-oid")
    if buf[e - 1] & 0x80:
        _fail("OBJECT IDENTIFIER ends inside a subidentifier", off, "invalid-oid")
    # A subidentifier must not start with 0x80 (a leading zero group).
    if buf[s] == 0x80:
        _fail("OBJECT IDENTIFIER subidentifier has a leading zero group", off, "invalid-oid")
    for i in range(s, e):
        if i > s and buf[i] == 0x80 and not (buf[i - 1] & 0x80):
            _fail("OBJECT IDENTIFIER subidentifier has a leading zero group", off, "invalid-oid")
        if buf[i] & 0x80:
            run += 1
            if run >= MAX_ARC_OCTETS:
                _fail(f"OBJECT IDENTIFIER subidentifier longer than {MAX_ARC_OCTETS} octets", off, "invalid-oid")
        else:
            run = 0
    return 0


cdef str _oid_to_str_slow(cbuf buf, Py_ssize_t s, Py_ssize_t e, bint relative):
    cdef list arcs = []
    cdef object v = 0
    cdef Py_ssize_t i
    for i in range(s, e):
        v = (v << 7) | (buf[i] & 0x7F)
        if not (buf[i] & 0x80):
            arcs.append(v)
            v = 0
    if not relative:
        first = arcs[0]
        if first < 40:
            arcs[0:1] = [0, first]
        elif first < 80:
            arcs[0:1] = [1, first - 40]
        else:
            arcs[0:1] = [2, first - 80]
    return ".".join([str(a) for a in arcs])


cdef inline Py_ssize_t _put_u64(char* out, Py_ssize_t pos, uint64_t v):
    cdef char tmp[24]
    cdef int k = 0
    if v == 0:
        out[pos] = 48
        return pos + 1
    while v:
        tmp[k] = <char>(48 + v % 10)
        v //= 10
        k += 1
    while k:
        k -= 1
        out[pos] = tmp[k]
        pos += 1
    return pos


cdef str oid_to_str(cbuf buf, Py_ssize_t s, Py_ssize_t e, bint relative):
    """Dotted form of an OID whose content [s, e) is already validated."""
    cdef Py_ssize_t n = e - s
    cdef char out[512]
    cdef Py_ssize_t pos = 0
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    cdef bint first = not relative
    if n > 120:
        return _oid_to_str_slow(buf, s, e, relative)
    for i in range(s, e):
        if v >> 56:
            return _oid_to_str_slow(buf, s, e, relative)
        v = (v << 7) | (buf[i] & 0x7F)
        if not (buf[i] & 0x80):
            if first:
                if v < 40:
                    out[0] = 48
                    pos = 1
                elif v < 80:
                    out[0] = 49
                    pos = 1
                    v -= 40
                else:
                    out[0] = 50
                    pos = 1
                    v -= 80
                first = False
            if pos:
                out[pos] = 46
                pos += 1
            pos = _put_u64(out, pos, v)
            v = 0
    return PyUnicode_DecodeASCII(out, pos, NULL)


cdef inline uint64_t _load8(cbuf p) noexcept:
    # An unaligned 8-octet load (the compiler turns the fixed-size copy into one instruction).
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v


cdef inline uint64_t _oid_mix(cbuf p, Py_ssize_t n) noexcept:
    # A few octets stand for the whole OID: the first and last eight (all of it up to 16 octets), and the length.
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    if n >= 8:
        v = _load8(p) ^ (_load8(p + n - 8) * 0x9E3779B97F4A7C15ULL)
    else:
        for i in range(n):
            v = (v << 8) | p[i]
    return (v ^ <uint64_t>n) * 0xD6E8FEB86659FD93ULL


cdef inline bint _same_bytes(cbuf a, cbuf b, Py_ssize_t n) noexcept:
    # OIDs are short: two 8-octet compares or a small loop beat a call to memcmp.
    cdef Py_ssize_t i
    if 8 <= n <= 16:
        return _load8(a) == _load8(b) and _load8(a + n - 8) == _load8(b + n - 8)
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef object dec_oid(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off):
    cdef Py_ssize_t n = e - s
    cdef _OidEntry* ent
    cdef str val
    cdef PyObject* known
    if n > 0 and n <= OID_KEY_MAX:
        ent = &_oid_cache[_oid_mix(buf + s, n) >> (64 - OID_CACHE_BITS)]
        if ent.n == n and _same_bytes(ent.key, buf + s, n):
            return <object>ent.val
        check_oid(buf, s, e, off, False)
        val = oid_to_str(buf, s, e, False)
        # the constant of estcodec.oids when it names this OID (dicts keyed by the constants then match by identity)
        known = PyDict_GetItem(_OID_CANON, val)
        if known != NULL:
            val = <str>known
        Py_INCREF(val)
        Py_XDECREF(ent.val)
        ent.val = <PyObject*>val
        memcpy(ent.key, buf + s, n)
        ent.n = <unsigned short>n
        return val
    check_oid(buf, s, e, off, False)
    return oid_to_str(buf, s, e, False)


cdef class BitStringValue:
    """The value of a BIT STRING: ``data`` (the octets) and ``unused_bits`` (0-7, in the last octet)."""
    cdef readonly bytes data
    cdef readonly int unused_bits

    def __init__(self, data, int unused_bits=0):
        data = bytes(data)
        if unused_bits < 0 or unused_bits > 7 or (not data and unused_bits):
            raise EncodeError("BIT STRING unused bits must be 0-7, and 0 when empty")
        self.data = data
        self.unused_bits = unused_bits

    def __bytes__(self):
        return self.data

    def __len__(self):
        return len(self.data) * 8 - self.unused_bits

    def bit(self, Py_ssize_t n):
        """Bit ``n``, counting from the first (most significant) bit of the first octet."""
        if n < 0 or n >= len(self.data) * 8 - self.unused_bits:
            return False
        return bool(self.data[n >> 3] & (0x80 >> (n & 7)))

    def __eq__(self, other):
        if isinstance(other, BitStringValue):
            return self.data == (<BitStringValue>other).data and self.unused_bits == (<BitStringValue>other).unused_bits
        if isinstance(other, bytes):
            return self.unused_bits == 0 and self.data == other
        return NotImplemented

    def __hash__(self):
        return hash((self.data, self.unused_bits))

    def __repr__(self):
        return f"BitStringValue({self.data!r}, unused_bits={self.unused_bits})"

    def __reduce__(self):
        return (BitStringValue, (self.data, self.unused_bits))


cdef inline BitStringValue _make_bits(bytes data, int unused):
    cdef BitStringValue v = BitStringValue.__new__(BitStringValue)
    v.data = data
    v.unused_bits = unused
    return v


cdef int check_bit_string(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber) except -1:
    cdef unsigned int unused
    if e == s:
        _fail("BIT STRING has no initial octet", off, "invalid-bit-string")
    unused = buf[s]
    if unused > 7:
        _fail(f"BIT STRING claims {unused} unused bits", off, "invalid-bit-string")
    if e - s == 1 and unused:
        _fail("empty BIT STRING with unused bits", off, "invalid-bit-string")
    if unused and not ber and (buf[e - 1] & ((1 << unused) - 1)):
        _fail("BIT STRING padding bits are not zero", off, "invalid-bit-string")
    return 0


cdef object dec_bit_string(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber):
    cdef unsigned int unused
    cdef bytearray tmp
    check_bit_string(buf, s, e, off, ber)
    unused = buf[s]
    if unused and (buf[e - 1] & ((1 << unused) - 1)):
        # BER only: clear the padding so the value (and its re-encoding) is canonical.
        tmp = bytearray(PyBytes_FromStringAndSize(<char*>buf + s + 1, e - s - 1))
        tmp[len(tmp) - 1] &= (0xFF << unused) & 0xFF
        return _make_bits(bytes(tmp), unused)
    return _make_bits(PyBytes_FromStringAndSize(<char*>buf + s + 1, e - s - 1), unused)


# --- times -------------------------------------------------------------------------------------------------

cdef struct TimeParts:
    int year
    int month
    int day
    int hour
    int minute
    int second
    int usec
    int offset_min     # minutes east of UTC (BER only); 0 for 'Z'


cdef inline int _digits(cbuf p, Py_ssize_t i, int n, Py_ssize_t off) except -1:
    cdef int v = 0
    cdef int k
    cdef unsigned char c
    for k in range(n):
        c = p[i + k]
        if c < 48 or c > 57:
            _fail("time has a non-digit where a digit is required", off, "invalid-time")
        v = v * 10 + (c - 48)
    return v


cdef int _days_in_month(int y, int m):
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


cdef int _check_fields(TimeParts* t, Py_ssize_t off) except -1:
    if t.month < 1 or t.month > 12 or t.day < 1 or t.day > _days_in_month(t.year, t.month) \
            or t.hour > 23 or t.minute > 59 or t.second > 59 or t.year < 1:
        _fail("time has a field out of range", off, "invalid-time")
    return 0


cdef Py_ssize_t _parse_zone(cbuf p, Py_ssize_t i, Py_ssize_t n, Py_ssize_t off, bint ber, TimeParts* t) except -1:
    # Returns the index after the zone designator.
    cdef int hh, mm
    if i < n and p[i] == 90:  # 'Z'
        t.offset_min = 0
        return i + 1
    if ber and i + 5 == n and (p[i] == 43 or p[i] == 45):  # '+' / '-'
        hh = _digits(p, i + 1, 2, off)
        mm = _digits(p, i + 3, 2, off)
        if hh > 23 or mm > 59:
            _fail("time zone offset out of range", off, "invalid-time")
        t.offset_min = hh * 60 + mm
        if p[i] == 45:
            t.offset_min = -t.offset_min
        return n
    _fail("time must end in Z", off, "invalid-time")


cdef int parse_utc_time(cbuf p, Py_ssize_t n, Py_ssize_t off, bint ber, TimeParts* t) except -1:
    cdef Py_ssize_t i
    if n < 11:
        _fail("UTCTime too short", off, "invalid-time")
    t.year = _digits(p, 0, 2, off)
    t.year += 1900 if t.year >= 50 else 2000
    t.month = _digits(p, 2, 2, off)
    t.day = _digits(p, 4, 2, off)
    t.hour = _digits(p, 6, 2, off)
    t.minute = _digits(p, 8, 2, off)
    t.usec = 0
    i = 10
    if n >= 13 and 48 <= p[10] <= 57:
        t.second = _digits(p, 10, 2, off)
        i = 12
    elif not ber:
        _fail("UTCTime must include seconds in DER", off, "invalid-time")
    else:
        t.second = 0
    i = _parse_zone(p, i, n, off, ber, t)
    if i != n:
        _fail("UTCTime has trailing characters", off, "invalid-time")
    _check_fields(t, off)
    return 0


cdef int parse_generalized_time(cbuf p, Py_ssize_t n, Py_ssize_t off, bint ber, TimeParts* t) except -1:
    cdef Py_ssize_t i, fs, fe
    cdef int digits
    cdef int64_t frac
    if n < 11:
        _fail("GeneralizedTime too short", off, "invalid-time")
    t.year = _digits(p, 0, 4, off)
    t.month = _digits(p, 4, 2, off)
    t.day = _digits(p, 6, 2, off)
    t.hour = _digits(p, 8, 2, off)
    t.minute = 0
    t.second = 0
    t.usec = 0
    i = 10
    if n >= 15 and 48 <= p[10] <= 57:
        t.minute = _digits(p, 10, 2, off)
        if 48 <= p[12] <= 57:
            t.second = _digits(p, 12, 2, off)
            i = 14
        elif not ber:
            _fail("GeneralizedTime must include seconds in DER", off, "invalid-time")
        else:
            i = 12
    elif not ber:
        _fail("GeneralizedTime must include minutes and seconds in DER", off, "invalid-time")
    elif n >= 13 and 48 <= p[10] <= 57:
        t.minute = _digits(p, 10, 2, off)
        i = 12
    if i < n and (p[i] == 46 or p[i] == 44):  # '.' or ','
        if p[i] == 44 and not ber:
            _fail("GeneralizedTime decimal mark must be '.' in DER", off, "invalid-time")
        if i != 14:
            _fail("GeneralizedTime fraction is only allowed on seconds", off, "invalid-time")
        fs = i + 1
        fe = fs
        while fe < n and 48 <= p[fe] <= 57:
            fe += 1
        if fe == fs:
            _fail("GeneralizedTime has an empty fraction", off, "invalid-time")
        if not ber and p[fe - 1] == 48:
            _fail("GeneralizedTime fraction has trailing zeros", off, "invalid-time")
        frac = 0
        digits = 0
        while digits < 6:
            frac = frac * 10 + ((p[fs + digits] - 48) if fs + digits < fe else 0)
            digits += 1
        t.usec = <int>frac
        i = fe
    i = _parse_zone(p, i, n, off, ber, t)
    if i != n:
        _fail("GeneralizedTime has trailing characters", off, "invalid-time")
    _check_fields(t, off)
    return 0


cdef object _time_value(TimeParts* t):
    cdef object d = datetime_new(t.year, t.month, t.day, t.hour, t.minute, t.second, t.usec, _UTC)
    if t.offset_min:
        d = d - _dt.timedelta(minutes=t.offset_min)
    return d


cdef object dec_utc_time(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber):
    cdef TimeParts t
    parse_utc_time(buf + s, e - s, off, ber, &t)
    return _time_value(&t)


cdef object dec_generalized_time(cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber):
    cdef TimeParts t
    parse_generalized_time(buf + s, e - s, off, ber, &t)
    return _time_value(&t)


# --- strings -----------------------------------------------------------------------------------------------

# PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ?
cdef unsigned char _PRINTABLE[256]
cdef int _k
for _k in range(256):
    _PRINTABLE[_k] = 0
for _k in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?":
    _PRINTABLE[_k] = 1


cdef inline str _ascii_str(cbuf p, Py_ssize_t n):
    # A str from octets already checked to be ASCII: one copy, no second scan.
    cdef str u = PyUnicode_New(n, 127)
    memcpy(PyUnicode_1BYTE_DATA(u), p, n)
    return u


cdef object dec_string(int tag, cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off):
    cdef Py_ssize_t i
    cdef unsigned char c
    cdef Py_ssize_t n = e - s
    if tag == T_UTF8_STRING:
        for i in range(s, e):
            if buf[i] >= 0x80:
                break
        else:
            return _ascii_str(buf + s, n)
        try:
            return PyUnicode_DecodeUTF8(<char*>buf + s, n, "strict")
        except UnicodeDecodeError:
            _fail("UTF8String is not valid UTF-8", off, "invalid-string")
    elif tag == T_PRINTABLE_STRING:
        for i in range(s, e):
            if not _PRINTABLE[buf[i]]:
                _fail(f"PrintableString holds character 0x{buf[i]:02x}", off, "invalid-string")
        return _ascii_str(buf + s, n)
    elif tag == T_IA5_STRING:
        for i in range(s, e):
            if buf[i] >= 0x80:
                _fail(f"IA5String holds byte 0x{buf[i]:02x}", off, "invalid-string")
        return _ascii_str(buf + s, n)
    elif tag == T_NUMERIC_STRING:
        for i in range(s, e):
            c = buf[i]
            if not (c == 32 or 48 <= c <= 57):
                _fail(f"NumericString holds character 0x{c:02x}", off, "invalid-string")
        return _ascii_str(buf + s, n)
    elif tag == T_VISIBLE_STRING:
        for i in range(s, e):
            c = buf[i]
            if c < 0x20 or c > 0x7E:
                _fail(f"VisibleString holds character 0x{c:02x}", off, "invalid-string")
        return _ascii_str(buf + s, n)
    elif tag == T_BMP_STRING:
        if n & 1:
            _fail("BMPString has an odd number of octets", off, "invalid-string")
        try:
            return PyBytes_FromStringAndSize(<char*>buf + s, n).decode("utf-16-be")
        except UnicodeDecodeError:
            _fail("BMPString is not valid UCS-2/UTF-16", off, "invalid-string")
    elif tag == T_UNIVERSAL_STRING:
        if n & 3:
            _fail("UniversalString length is not a multiple of 4", off, "invalid-string")
        try:
            return PyBytes_FromStringAndSize(<char*>buf + s, n).decode("utf-32-be")
        except UnicodeDecodeError:
            _fail("UniversalString is not valid UCS-4", off, "invalid-string")
    # TeletexString, VideotexString, GraphicString, GeneralString, ObjectDescriptor: read as latin-1
    # (a documented leniency: T.61 is not worth a codec; real certificates put latin-1 there).
    return PyUnicode_DecodeLatin1(<char*>buf + s, n, NULL)


cdef inline bint _is_text_tag(Py_ssize_t tag):
    return tag == T_UTF8_STRING or tag == T_OBJECT_DESCRIPTOR or \
        (T_NUMERIC_STRING <= tag <= T_BMP_STRING and tag != T_UTC_TIME and tag != T_GENERALIZED_TIME
         and tag != T_CHARACTER_STRING)


cdef object prim_value(Py_ssize_t tag, cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber):
    """Validate and decode the content of a universal primitive. Unknown tags give the raw content."""
    if tag == T_INTEGER or tag == T_ENUMERATED:
        return dec_integer(buf, s, e, off)
    if tag == T_OID:
        return dec_oid(buf, s, e, off)
    if tag == T_BOOLEAN:
        return dec_boolean(buf, s, e, off, ber)
    if tag == T_NULL:
        check_null(s, e, off)
        return None
    if tag == T_OCTET_STRING:
        return PyBytes_FromStringAndSize(<char*>buf + s, e - s)
    if tag == T_BIT_STRING:
        return dec_bit_string(buf, s, e, off, ber)
    if tag == T_UTC_TIME:
        return dec_utc_time(buf, s, e, off, ber)
    if tag == T_GENERALIZED_TIME:
        return dec_generalized_time(buf, s, e, off, ber)
    if _is_text_tag(tag):
        return dec_string(<int>tag, buf, s, e, off)
    if tag == T_RELATIVE_OID:
        check_oid(buf, s, e, off, True)
        return oid_to_str(buf, s, e, True)
    return PyBytes_FromStringAndSize(<char*>buf + s, e - s)


cdef int check_primitive(Py_ssize_t tag, cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t off, bint ber) except -1:
    """Validate the content of a universal primitive without building its value where that is cheaper."""
    cdef TimeParts t
    cdef Py_ssize_t i
    if tag == T_INTEGER or tag == T_ENUMERATED:
        return check_integer(buf, s, e, off)
    if tag == T_OID:
        return check_oid(buf, s, e, off, False)
    if tag == T_NULL:
        return check_null(s, e, off)
    if tag == T_BOOLEAN:
        dec_boolean(buf, s, e, off, ber)
        return 0
    if tag == T_BIT_STRING:
        return check_bit_string(buf, s, e, off, ber)
    if tag == T_UTC_TIME:
        return parse_utc_time(buf + s, e - s, off, ber, &t)
    if tag == T_GENERALIZED_TIME:
        return parse_generalized_time(buf + s, e - s, off, ber, &t)
    if tag == T_PRINTABLE_STRING:
        for i in range(s, e):
            if not _PRINTABLE[buf[i]]:
                _fail(f"PrintableString holds character 0x{buf[i]:02x}", off, "invalid-string")
        return 0
    if tag == T_RELATIVE_OID:
        return check_oid(buf, s, e, off, True)
    if tag == T_OCTET_STRING or not _is_text_tag(tag):
        return 0
    if tag == T_UTF8_STRING or tag == T_IA5_STRING:
        # ASCII is valid in both (the usual case): no str needed to tell
        for i in range(s, e):
            if buf[i] >= 0x80:
                break
        else:
            return 0
    dec_string(<int>tag, buf, s, e, off)
    return 0
