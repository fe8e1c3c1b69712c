# Streaming BER -> DER: ``normalize_ber`` rewrites the input in one pass into a Writer, without building the
# Element tree (a tree costs about a hundred bytes per element, so a body of empty SEQUENCEs used to cost 90x
# its size). Every element is checked exactly as ``parse(data, ber=True)`` checks it and written in the form
# ``Element.to_der`` gives it; tests/test_ber_memory.py compares both on every BER vector.
#
# Memory: the output buffer (sized from the input, the DER form being about as long as the BER one) and the
# returned bytes; no per-element allocation. Time: each element is read once; a constructed element's content is
# moved once when its header is slotted in front of it (``Writer.close_tlv``), so bytes move at most once per
# enclosing level, and nesting is bounded by MAX_DEPTH.


cdef Py_ssize_t _ber_element(cbuf buf, Py_ssize_t pos, Py_ssize_t end, int depth, Writer w) except -1:
    """Check the element at ``pos`` (BER rules) and append its DER form to ``w``; return the offset after it."""
    cdef Header h
    cdef Py_ssize_t mark, p
    cdef object v
    read_header(buf, pos, end, &h, True)
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", pos, "too-deep")
    if h.cls == CLS_UNIVERSAL:
        if h.tag == T_EOC:
            _fail("end-of-contents outside an indefinite-length element", pos, "unexpected-eoc")
        check_universal_form(h.tag, h.cons, pos, True)
    mark = w.length
    if not h.cons:
        if h.cls == CLS_UNIVERSAL:
            check_primitive(h.tag, buf, h.cstart, h.cend, pos, True)
            if not _content_is_der(h.tag, buf, h.cstart, h.cend):
                # BOOLEAN other than 00/FF, BIT STRING with padding bits set, BER-only time forms
                v = prim_value(h.tag, buf, h.cstart, h.cend, pos, True)
                _ber_put_normalised(w, <int>h.tag, v, pos)
                w.close_tlv(mark, h.cls, False, h.tag)
                return h.cend
        w.put(buf + h.cstart, h.cend - h.cstart)
        w.close_tlv(mark, h.cls, False, h.tag)
        return h.cend
    if h.cls == CLS_UNIVERSAL and _is_string_tag(h.tag):
        p = _ber_string(buf, &h, depth, w)
        # the joined content now sits at [mark, w.length): check it as the primitive it stands for
        check_primitive(h.tag, <cbuf>w.buf, mark, w.length, pos, True)
        if h.tag == T_BIT_STRING or h.tag == T_UTC_TIME or h.tag == T_GENERALIZED_TIME:
            v = prim_value(h.tag, <cbuf>w.buf, mark, w.length, pos, True)
            w.truncate(mark)
            _ber_put_normalised(w, <int>h.tag, v, pos)
        w.close_tlv(mark, CLS_UNIVERSAL, False, h.tag)
        return p
    p = h.cstart
    if h.indef:
        while True:
            if p + 2 > end:
                _fail("indefinite-length element has no end-of-contents", pos, "truncated")
            if buf[p] == 0:
                if buf[p + 1] != 0:
                    _fail("end-of-contents with a non-zero length", p, "unexpected-eoc")
                break
            p = _ber_element(buf, p, end, depth + 1, w)
        p += 2
    else:
        while p < h.cend:
            p = _ber_element(buf, p, h.cend, depth + 1, w)
    w.close_tlv(mark, h.cls, True, h.tag)
    return p


cdef int _ber_put_normalised(Writer w, int tag, object v, Py_ssize_t pos) except -1:
    # The DER content of a universal primitive whose BER content is not already DER.
    if tag == T_BOOLEAN:
        w.put_byte(0xFF if v else 0x00)
    elif tag == T_BIT_STRING:
        write_bit_string_content(w, v)
    elif tag == T_UTC_TIME or tag == T_GENERALIZED_TIME:
        try:
            w.put_bytes(encode_time_content(tag, v))
        except EncodeError as e:
            # e.g. a UTCTime whose offset moves it past 2049 in UTC: valid BER, no DER form of the same type
            _fail(f"{tag_name(0, tag, False)} has no DER form: {e}", pos, "invalid-time")
    return 0


cdef Py_ssize_t _ber_string(cbuf buf, Header* h, int depth, Writer w) except -1:
    """Append the joined content of the constructed string ``h`` (X.690 8.7.3, 8.6.3, 8.23.5) to ``w``.

    Segments of a BIT STRING are BIT STRINGs, those of an OCTET STRING and of every restricted character string
    (and time) type are OCTET STRINGs; segments of the string's own type are accepted too. A BIT STRING's
    content is written as its unused-bits octet (that of the last segment) followed by the segments' data; only
    the last segment may have unused bits. A constructed segment counts as one segment holding its own joined
    content, which is checked as a primitive of its type. Returns the offset after the element."""
    cdef Header s
    cdef Py_ssize_t seg_tag = T_BIT_STRING if h.tag == T_BIT_STRING else T_OCTET_STRING
    cdef bint bits = h.tag == T_BIT_STRING
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t limit = h.cend
    cdef Py_ssize_t mark = w.length
    cdef Py_ssize_t smark
    cdef Py_ssize_t prev_off = -1   # offset of the previous segment (BIT STRING)
    cdef int prev_unused = 0
    cdef int unused
    if bits:
        w.put_byte(0)   # the unused-bits octet, set at the end
    while True:
        if h.indef:
            if p + 2 > limit:
                _fail("indefinite-length element has no end-of-contents", h.start, "truncated")
            if buf[p] == 0:
                if buf[p + 1] != 0:
                    _fail("end-of-contents with a non-zero length", p, "unexpected-eoc")
                p += 2
                break
        elif p >= limit:
            break
        read_header(buf, p, limit, &s, True)
        if depth + 1 >= MAX_DEPTH:
            _fail(f"nesting deeper than {MAX_DEPTH} levels", p, "too-deep")
        if s.cls != CLS_UNIVERSAL or (s.tag != seg_tag and (s.tag != h.tag or bits)):
            if s.cls == CLS_UNIVERSAL and s.tag == T_EOC:
                _fail("end-of-contents outside an indefinite-length element", p, "unexpected-eoc")
            _fail(f"segment of a constructed string must be {tag_name(0, seg_tag, False)}", p, "unexpected-tag")
        if bits and prev_unused:
            _fail("only the last segment of a constructed BIT STRING may have unused bits", prev_off,
                  "invalid-bit-string")
        smark = w.length
        if s.cons:
            # a nested constructed segment: its own joined content, checked as a primitive of its type
            if bits:
                p = _ber_nested_bits(buf, &s, depth + 1, w, &unused)
            else:
                p = _ber_string(buf, &s, depth + 1, w)
                check_primitive(s.tag, <cbuf>w.buf, smark, w.length, s.start, True)
                unused = 0
        else:
            check_primitive(s.tag, buf, s.cstart, s.cend, p, True)
            if bits:
                unused = buf[s.cstart]
                w.put(buf + s.cstart + 1, s.cend - s.cstart - 1)
            else:
                w.put(buf + s.cstart, s.cend - s.cstart)
                unused = 0
            p = s.cend
        prev_unused = unused
        prev_off = s.start
    if bits:
        w.buf[mark] = <unsigned char>prev_unused
    return p


cdef Py_ssize_t _ber_nested_bits(cbuf buf, Header* s, int depth, Writer w, int* unused) except -1:
    # A constructed BIT STRING inside a constructed BIT STRING: append its data (without the unused-bits octet)
    # to ``w``, set ``unused`` to its unused-bits count (0 when it has no segments), return the offset after it.
    cdef Py_ssize_t smark = w.length
    cdef Py_ssize_t p = _ber_string(buf, s, depth, w)
    unused[0] = w.buf[smark]
    memmove(w.buf + smark, w.buf + smark + 1, w.length - smark - 1)
    w.length -= 1
    return p


def normalize_ber(data):
    """Return the DER form of a BER (or DER) input, keeping the order of SET elements.

    Checks and output are those of ``parse(data, ber=True).to_der()``, computed in one pass without the element
    tree: memory about three times the input (the input, the output buffer, the result), time linear in it."""
    cdef bytes src = as_bytes(data)
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(src)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    cdef Writer w = Writer()
    cdef Py_ssize_t p
    # Room for the DER form, which is about as long as the input: definite lengths of big elements may take
    # a byte or two more than ``80 .. 00 00`` (at most n/512 in all at the depth limit); BER-only time forms
    # may grow by up to a third, and the buffer then doubles on demand.
    cdef Py_ssize_t cap = n + n // 256 + 64
    cdef unsigned char* nb = <unsigned char*>PyMem_Realloc(w.buf, cap)
    if nb == NULL:
        raise MemoryError()
    w.buf = nb
    w.cap = cap
    p = _ber_element(buf, 0, n, 0, w)
    if p != n:
        _fail(f"{n - p} bytes of trailing data after the element", p, "trailing-data")
    if w.length == n and memcmp(w.buf, buf, n) == 0:
        return src
    return w.getvalue()
