# The schema-less layer: ``parse(data, ber=False) -> Element``.


cdef bytes as_bytes(object data):
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, bytes):
        return bytes(data)
    raise TypeError(f"expected bytes-like input, got {type(data).__name__}")


@cython.no_gc
cdef class Element:
    """One TLV of a parsed input. Obtained from ``estcodec.der.parse``; not constructed directly."""
    cdef bytes _src
    cdef int _cls
    cdef readonly Py_ssize_t tag
    cdef readonly bint constructed
    cdef readonly Py_ssize_t offset
    cdef Py_ssize_t _cstart
    cdef Py_ssize_t _cend
    cdef Py_ssize_t _end
    cdef list _children
    cdef bytes _content      # content when it is not one slice of the input (merged BER constructed string)
    cdef bint _der           # True when the input slice [offset, end) is already the DER form

    @property
    def tag_class(self):
        return _CLASS_NAMES[self._cls]

    @property
    def children(self):
        return list(self._children) if self._children is not None else []

    @property
    def content(self):
        if self._content is not None:
            return self._content
        return self._src[self._cstart:self._cend]

    @property
    def header_length(self):
        return self._cstart - self.offset

    @property
    def length(self):
        if self._content is not None:
            return len(self._content)
        return self._cend - self._cstart

    @property
    def end(self):
        return self._end

    @property
    def tag_name(self):
        return tag_name(self._cls, self.tag, self.constructed)

    @property
    def value(self):
        """The decoded value of a universal primitive (see the module docs for the Python types)."""
        cdef bytes c
        if self.constructed:
            raise TypeError("a constructed element has no primitive value; use .children")
        if self._cls != CLS_UNIVERSAL:
            return self.content
        if self._content is not None:
            c = self._content
            return prim_value(self.tag, <cbuf>PyBytes_AS_STRING(c), 0, len(c), self.offset, True)
        return prim_value(self.tag, <cbuf>PyBytes_AS_STRING(self._src), self._cstart, self._cend, self.offset,
                          not self._der)

    def __len__(self):
        return len(self._children) if self._children is not None else 0

    def __getitem__(self, i):
        if self._children is None:
            raise IndexError("primitive element has no children")
        return self._children[i]

    def __iter__(self):
        return iter(self._children if self._children is not None else ())

    def to_der(self):
        """The DER encoding: the exact input bytes for DER input, the normalised DER form for BER input."""
        if self._der:
            return self._src[self.offset:self._end]
        cdef Writer w = Writer()
        self._write(w)
        return w.getvalue()

    cdef int _write(self, Writer w) except -1:
        cdef Py_ssize_t mark
        cdef Element ch
        cdef bytes c
        if self._der:
            w.put(<cbuf>PyBytes_AS_STRING(self._src) + self.offset, self._end - self.offset)
            return 0
        mark = w.length
        if self.constructed:
            for ch in self._children:
                ch._write(w)
        else:
            c = self.content
            if self._cls == CLS_UNIVERSAL and self.tag == T_BOOLEAN:
                w.put_byte(0xFF if c[0] else 0x00)
            elif self._cls == CLS_UNIVERSAL and self.tag == T_BIT_STRING:
                write_bit_string_content(w, self.value)
            elif self._cls == CLS_UNIVERSAL and (self.tag == T_UTC_TIME or self.tag == T_GENERALIZED_TIME):
                # BER time forms (no seconds, offsets, comma, trailing zeros) normalised to the DER form.
                w.put_bytes(encode_time_content(<int>self.tag, self.value))
            else:
                w.put_bytes(c)
        w.close_tlv(mark, self._cls, self.constructed, self.tag)
        return 0

    def __repr__(self):
        if self.constructed:
            return f"<Element {self.tag_name} constructed offset={self.offset} children={len(self._children)}>"
        return f"<Element {self.tag_name} offset={self.offset} length={self.length}>"

    def __reduce__(self):
        return (parse, (self.to_der(),))


cdef bint _content_is_der(Py_ssize_t tag, cbuf buf, Py_ssize_t s, Py_ssize_t e):
    # Only called in BER mode for universal primitives already validated with BER rules.
    cdef TimeParts t
    if tag == T_BOOLEAN:
        return buf[s] == 0 or buf[s] == 0xFF
    if tag == T_BIT_STRING:
        return buf[s] == 0 or not (buf[e - 1] & ((1 << buf[s]) - 1))
    if (tag == T_UTC_TIME and e - s != 13) or (tag == T_GENERALIZED_TIME and e - s < 15) \
            or ((tag == T_UTC_TIME or tag == T_GENERALIZED_TIME) and buf[e - 1] != 0x5A):
        return False   # no seconds, or an offset instead of Z: a BER form (told without raising)
    if tag == T_UTC_TIME:
        try:
            parse_utc_time(buf + s, e - s, 0, False, &t)
        except DecodeError:
            return False
    elif tag == T_GENERALIZED_TIME:
        try:
            parse_generalized_time(buf + s, e - s, 0, False, &t)
        except DecodeError:
            return False
    return True


cdef int _check_time_has_der(Py_ssize_t tag, cbuf buf, Py_ssize_t s, Py_ssize_t e, Py_ssize_t pos) except -1:
    # A BER time (already checked with BER rules) whose value its own type cannot hold in DER, e.g. a UTCTime
    # whose offset moves it past 2049 in UTC, is refused here, at parse time, as ``normalize_ber`` refuses it.
    if _content_is_der(tag, buf, s, e):
        return 0
    try:
        encode_time_content(<int>tag, prim_value(tag, buf, s, e, pos, True))
    except EncodeError as err:
        _fail(f"{tag_name(0, tag, False)} has no DER form: {err}", pos, "invalid-time")
    return 0


cdef int _collect_segments(Element el, Py_ssize_t seg_tag, list out) except -1:
    # BER constructed string (X.690 8.7.3, 8.6.3, 8.23.5): the segments of a BIT STRING are BIT STRINGs, those of
    # an OCTET STRING and of every restricted character string (and time) type are OCTET STRINGs. Segments of the
    # string's own type are accepted too (older encoders, and the "Layman's Guide" examples, write them).
    cdef Element ch
    for ch in el._children:
        if ch._cls != CLS_UNIVERSAL or (ch.tag != seg_tag and (ch.tag != el.tag or seg_tag == T_BIT_STRING)):
            _fail(f"segment of a constructed string must be {tag_name(0, seg_tag, False)}", ch.offset,
                  "unexpected-tag")
        if ch._children is not None:
            _collect_segments(ch, seg_tag, out)
        else:
            out.append(ch)
    return 0


cdef bytes _join_segments(Element el, Py_ssize_t tag):
    cdef list segs = []
    cdef Element seg
    cdef Py_ssize_t i, n
    cdef bytes c
    cdef int unused = 0
    _collect_segments(el, T_BIT_STRING if tag == T_BIT_STRING else T_OCTET_STRING, segs)
    if tag != T_BIT_STRING:
        return b"".join([seg.content for seg in segs])
    # BIT STRING: each segment carries its own unused-bits octet; only the last may have unused bits.
    parts = []
    n = len(segs)
    for i in range(n):
        seg = segs[i]
        c = seg.content
        if c[0] != 0 and i != n - 1:
            _fail("only the last segment of a constructed BIT STRING may have unused bits", seg.offset,
                  "invalid-bit-string")
        parts.append(c[1:])
        if i == n - 1:
            unused = c[0]
    return bytes([unused]) + b"".join(parts)


cdef Element _parse_element(bytes src, cbuf buf, Py_ssize_t pos, Py_ssize_t end, bint ber, int depth,
                            Py_ssize_t* next_pos):
    cdef Header h
    cdef Element el
    cdef Element child
    cdef list children
    cdef list segs
    cdef Py_ssize_t p
    cdef bint der
    cdef bytes joined
    read_header(buf, pos, end, &h, ber)
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", pos, "too-deep")
    el = Element.__new__(Element)
    el._src = src
    el._cls = h.cls
    el.tag = h.tag
    el.offset = pos
    el._cstart = h.cstart
    if h.cls == CLS_UNIVERSAL:
        if h.tag == T_EOC:
            _fail("end-of-contents outside an indefinite-length element", pos, "unexpected-eoc")
        check_universal_form(h.tag, h.cons, pos, ber)
    der = not ber or (not h.indef and h.cstart - pos == _header_size(h.tag, h.cend - h.cstart))
    if h.cons:
        children = []
        p = h.cstart
        if h.indef:
            while True:
                if p + 2 > end:
                    _fail("indefinite-length element has no end-of-contents", pos, "truncated")
                if buf[p] == 0:
                    if buf[p + 1] != 0:
                        _fail("end-of-contents with a non-zero length", p, "unexpected-eoc")
                    break
                child = _parse_element(src, buf, p, end, ber, depth + 1, &p)
                der = der and child._der
                children.append(child)
            el._cend = p
            el._end = p + 2
        else:
            while p < h.cend:
                child = _parse_element(src, buf, p, h.cend, ber, depth + 1, &p)
                der = der and child._der
                children.append(child)
            el._cend = h.cend
            el._end = h.cend
        el._children = children
        # The list is private (``children`` hands out copies) and holds only Elements: keep it out of the GC.
        PyObject_GC_UnTrack(<void*>children)
        el.constructed = True
        if h.cls == CLS_UNIVERSAL and _is_string_tag(h.tag):
            # BER constructed string: present it as one primitive holding the concatenated content.
            joined = _join_segments(el, h.tag)
            check_primitive(h.tag, <cbuf>PyBytes_AS_STRING(joined), 0, len(joined), pos, True)
            if h.tag == T_UTC_TIME or h.tag == T_GENERALIZED_TIME:
                _check_time_has_der(h.tag, <cbuf>PyBytes_AS_STRING(joined), 0, len(joined), pos)
            el._content = joined
            el._children = None
            el.constructed = False
            der = False
    else:
        el._cend = h.cend
        el._end = h.cend
        el.constructed = False
        if h.cls == CLS_UNIVERSAL:
            check_primitive(h.tag, buf, h.cstart, h.cend, pos, ber)
            if ber and (h.tag == T_UTC_TIME or h.tag == T_GENERALIZED_TIME):
                _check_time_has_der(h.tag, buf, h.cstart, h.cend, pos)
            if ber and der:
                der = _content_is_der(h.tag, buf, h.cstart, h.cend)
    el._der = der
    next_pos[0] = el._end
    return el


def parse(data, /, *, bint ber=False):
    """Parse one complete TLV (and everything inside it) from ``data``.

    Strict DER by default, as far as DER can be checked without a schema; ``ber=True`` also accepts indefinite
    lengths, constructed strings and non-minimal lengths. Raises ``DecodeError`` for anything else, including
    data after the element.
    """
    cdef bytes src = as_bytes(data)
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(src)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    cdef Py_ssize_t p = 0
    cdef Element el = _parse_element(src, buf, 0, n, ber, 0, &p)
    if p != n:
        _fail(f"{n - p} bytes of trailing data after the element", p, "trailing-data")
    return el


def peek_header(data, Py_ssize_t pos=0, Py_ssize_t end=-1, *, bint ber=False):
    """``(tag_class, constructed, tag, content_start, content_end)`` of the one header at ``pos`` (``end``: where
    the enclosing range ends, default the end of ``data``), checked as ``parse`` checks headers, without reading
    the content; ``content_end`` is None for an indefinite length. For looking at the shape of a large input
    without building its tree."""
    cdef Header h
    cdef bytes src
    if type(data) is bytes:
        src = <bytes>data
    else:
        src = as_bytes(data)
    if end < 0 or end > PyBytes_GET_SIZE(src):
        end = PyBytes_GET_SIZE(src)
    if pos < 0 or pos > end:
        raise ValueError("pos outside the data")
    read_header(<cbuf>PyBytes_AS_STRING(src), pos, end, &h, ber)
    return (h.cls, h.cons, h.tag, h.cstart, None if h.indef else h.cend)
