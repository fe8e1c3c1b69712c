# The writing half: a growable buffer that emits definite-length DER.
#
# Contents are written first and the header is slotted in front of them afterwards (``close_tlv``), so no
# element is encoded twice and nothing needs its length known in advance.


cdef inline Py_ssize_t _header_size(Py_ssize_t tag, Py_ssize_t length):
    cdef Py_ssize_t n = 1
    cdef Py_ssize_t t
    if tag >= 31:
        t = tag
        while t:
            n += 1
            t >>= 7
    if length < 0x80:
        return n + 1
    n += 1
    while length:
        n += 1
        length >>= 8
    return n


cdef class Writer:
    cdef unsigned char* buf
    cdef Py_ssize_t length
    cdef Py_ssize_t cap

    def __cinit__(self):
        self.cap = 256
        self.length = 0
        self.buf = <unsigned char*>PyMem_Malloc(self.cap)
        if self.buf == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.buf != NULL:
            PyMem_Free(self.buf)

    cdef int reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.length + extra
        cdef Py_ssize_t cap = self.cap
        cdef unsigned char* nb
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        nb = <unsigned char*>PyMem_Realloc(self.buf, cap)
        if nb == NULL:
            raise MemoryError()
        self.buf = nb
        self.cap = cap
        return 0

    cdef int put(self, cbuf p, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.buf + self.length, p, n)
        self.length += n
        return 0

    cdef int put_byte(self, unsigned char b) except -1:
        self.reserve(1)
        self.buf[self.length] = b
        self.length += 1
        return 0

    cdef int put_bytes(self, bytes b) except -1:
        return self.put(<cbuf>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))

    cdef int close_tlv(self, Py_ssize_t mark, int cls, bint cons, Py_ssize_t tag) except -1:
        """Content was written at [mark, length): move it up and write the header in front of it."""
        cdef Py_ssize_t clen = self.length - mark
        cdef Py_ssize_t hlen = _header_size(tag, clen)
        cdef unsigned char* h
        cdef Py_ssize_t i, t, nt, nl
        self.reserve(hlen)
        memmove(self.buf + mark + hlen, self.buf + mark, clen)
        h = self.buf + mark
        if tag < 31:
            h[0] = <unsigned char>((cls << 6) | (0x20 if cons else 0) | tag)
            i = 1
        else:
            h[0] = <unsigned char>((cls << 6) | (0x20 if cons else 0) | 0x1F)
            nt = 0
            t = tag
            while t:
                nt += 1
                t >>= 7
            for i in range(nt):
                h[1 + i] = <unsigned char>(((tag >> (7 * (nt - 1 - i))) & 0x7F) | (0x80 if i < nt - 1 else 0))
            i = 1 + nt
        if clen < 0x80:
            h[i] = <unsigned char>clen
        else:
            nl = hlen - i - 1
            h[i] = <unsigned char>(0x80 | nl)
            for t in range(nl):
                h[i + 1 + t] = <unsigned char>((clen >> (8 * (nl - 1 - t))) & 0xFF)
        self.length += hlen
        return 0

    cdef bytes getvalue(self):
        return PyBytes_FromStringAndSize(<char*>self.buf, self.length)

    cdef bytes slice(self, Py_ssize_t s, Py_ssize_t e):
        return PyBytes_FromStringAndSize(<char*>self.buf + s, e - s)

    cdef void truncate(self, Py_ssize_t n):
        self.length = n


def encode_header(int cls, bint constructed, Py_ssize_t tag, Py_ssize_t length):
    """Identifier and length octets of a DER TLV (used by tools that stream content)."""
    cdef Writer w = Writer()
    cdef Py_ssize_t i
    w.reserve(length)
    w.length = length
    w.close_tlv(0, cls, constructed, tag)
    return w.slice(0, w.length - length)


# --- primitive content writers ---------------------------------------------------------------------------

cdef int write_integer_content(Writer w, object value) except -1:
    cdef int64_t v
    cdef unsigned char tmp[9]
    cdef int n, i
    if type(value) is bool or not isinstance(value, int):
        raise EncodeError(f"INTEGER needs an int, got {type(value).__name__}")
    if -0x7FFFFFFFFFFFFFFF <= value <= 0x7FFFFFFFFFFFFFFF:
        v = value
        n = 8
        for i in range(8):
            tmp[7 - i] = <unsigned char>((<uint64_t>v >> (8 * i)) & 0xFF)
        i = 0
        while i < 7 and ((tmp[i] == 0 and not (tmp[i + 1] & 0x80)) or (tmp[i] == 0xFF and (tmp[i + 1] & 0x80))):
            i += 1
        return w.put(tmp + i, 8 - i)
    w.put_bytes(value.to_bytes(((value if value >= 0 else ~value).bit_length() + 8) // 8, "big", signed=True))
    return 0


cdef dict _oid_encode_cache = {}


cdef bytes encode_oid_content(object value):
    cdef bytes r
    if type(value) is not str:
        raise EncodeError(f"OBJECT IDENTIFIER needs a dotted str, got {type(value).__name__}")
    r = _oid_encode_cache.get(value)
    if r is not None:
        return r
    try:
        arcs = [int(a) for a in (<str>value).split(".")]
    except ValueError:
        raise EncodeError(f"not a dotted OID: {value!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or any(a < 0 for a in arcs) \
            or any(not s.isdigit() or (len(s) > 1 and s[0] == "0") for s in (<str>value).split(".")):
        raise EncodeError(f"not a valid OID: {value!r}")
    out = bytearray()
    subs = [arcs[0] * 40 + arcs[1]] + arcs[2:]
    for a in subs:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.append((a & 0x7F) | 0x80)
            a >>= 7
        out.extend(reversed(chunk))
    r = bytes(out)
    if len(_oid_encode_cache) < 4096:
        _oid_encode_cache[value] = r
    return r


cdef int write_bit_string_content(Writer w, object value) except -1:
    cdef BitStringValue b
    if isinstance(value, BitStringValue):
        b = <BitStringValue>value
        w.put_byte(<unsigned char>b.unused_bits)
        if b.unused_bits and b.data and (b.data[len(b.data) - 1] & ((1 << b.unused_bits) - 1)):
            w.put_bytes(b.data[:-1])
            w.put_byte(b.data[len(b.data) - 1] & ((0xFF << b.unused_bits) & 0xFF))
            return 0
        return w.put_bytes(b.data)
    if isinstance(value, (bytes, bytearray, memoryview)):
        w.put_byte(0)
        return w.put_bytes(bytes(value))
    raise EncodeError(f"BIT STRING needs bytes or BitStringValue, got {type(value).__name__}")


cdef bytes _ascii_checked(object value, int tag):
    cdef bytes b
    cdef Py_ssize_t i
    cdef unsigned char c
    if type(value) is not str:
        raise EncodeError(f"{tag_name(0, tag, False)} needs a str, got {type(value).__name__}")
    try:
        b = (<str>value).encode("ascii")
    except UnicodeEncodeError:
        raise EncodeError(f"{tag_name(0, tag, False)} cannot hold {value!r}") from None
    for i in range(len(b)):
        c = b[i]
        if (tag == T_PRINTABLE_STRING and not _PRINTABLE[c]) or (tag == T_NUMERIC_STRING and not (c == 32 or 48 <= c <= 57)) \
                or (tag == T_VISIBLE_STRING and (c < 0x20 or c > 0x7E)):
            raise EncodeError(f"{tag_name(0, tag, False)} cannot hold {value!r}")
    return b


cdef bytes encode_string_content(int tag, object value):
    if tag == T_UTF8_STRING:
        if type(value) is not str:
            raise EncodeError(f"UTF8String needs a str, got {type(value).__name__}")
        try:
            return (<str>value).encode("utf-8")
        except UnicodeEncodeError:
            raise EncodeError("UTF8String cannot hold lone surrogates") from None
    if tag == T_PRINTABLE_STRING or tag == T_IA5_STRING or tag == T_NUMERIC_STRING or tag == T_VISIBLE_STRING:
        return _ascii_checked(value, tag)
    if type(value) is not str:
        raise EncodeError(f"{tag_name(0, tag, False)} needs a str, got {type(value).__name__}")
    try:
        if tag == T_BMP_STRING:
            if any(ord(ch) > 0xFFFF for ch in value):
                raise EncodeError("BMPString cannot hold characters outside the BMP")
            return (<str>value).encode("utf-16-be")
        if tag == T_UNIVERSAL_STRING:
            return (<str>value).encode("utf-32-be")
        return (<str>value).encode("latin-1")
    except UnicodeEncodeError:
        raise EncodeError(f"{tag_name(0, tag, False)} cannot hold {value!r}") from None


cdef bytes encode_time_content(int tag, object value):
    if not isinstance(value, _dt.datetime):
        raise EncodeError(f"{tag_name(0, tag, False)} needs a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise EncodeError("times must be timezone-aware (UTC)")
    value = value.astimezone(_UTC)
    if tag == T_UTC_TIME:
        if not (1950 <= value.year < 2050):
            raise EncodeError(f"UTCTime cannot hold the year {value.year}")
        if value.microsecond:
            raise EncodeError("UTCTime cannot hold fractions of a second")
        return value.strftime("%y%m%d%H%M%SZ").encode("ascii")
    s = f"{value.year:04d}{value.month:02d}{value.day:02d}{value.hour:02d}{value.minute:02d}{value.second:02d}"
    if value.microsecond:
        s += ("." + f"{value.microsecond:06d}".rstrip("0"))
    return (s + "Z").encode("ascii")


cdef int write_primitive_content(Writer w, Py_ssize_t tag, object value) except -1:
    if tag == T_INTEGER or tag == T_ENUMERATED:
        return write_integer_content(w, value)
    if tag == T_OID:
        return w.put_bytes(encode_oid_content(value))
    if tag == T_BOOLEAN:
        if type(value) is not bool:
            raise EncodeError(f"BOOLEAN needs a bool, got {type(value).__name__}")
        return w.put_byte(0xFF if value else 0)
    if tag == T_NULL:
        if value is not None:
            raise EncodeError("NULL takes None")
        return 0
    if tag == T_OCTET_STRING:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise EncodeError(f"OCTET STRING needs bytes, got {type(value).__name__}")
        return w.put_bytes(bytes(value))
    if tag == T_BIT_STRING:
        return write_bit_string_content(w, value)
    if tag == T_UTC_TIME or tag == T_GENERALIZED_TIME:
        return w.put_bytes(encode_time_content(<int>tag, value))
    if _is_text_tag(tag):
        return w.put_bytes(encode_string_content(<int>tag, value))
    if isinstance(value, (bytes, bytearray)):
        return w.put_bytes(bytes(value))
    raise EncodeError(f"cannot encode a value for {tag_name(0, tag, False)}")
