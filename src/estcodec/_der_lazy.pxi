# Values checked when they are read, not when their container is decoded, and scans over large SEQUENCE OF
# values that build no object per element.
#
# * ``LazyContained``: an OCTET STRING CONTAINING field (x509 extnValue) whose contained value is decoded on first
#   read, in place in the container's source bytes (error offsets are those of the whole input), and kept.
# * ``decode_at``: decode one element lying inside a larger buffer, sharing that buffer (no copy).
# * ``SeqOfIndex``: the entries of a SEQUENCE OF, validated in one pass and located by offset (a CRL's
#   revokedCertificates), with a lookup by the first INTEGER of an entry.


cdef int _field_bounds(Model m, Py_ssize_t index, Py_ssize_t* cstart, Py_ssize_t* cend) except -1:
    # Where field ``index`` of the decoded model ``m`` lies in its source bytes: a deferred leaf knows its place;
    # otherwise the components of the SEQUENCE are walked again, matching each field's tag in order.
    cdef size_t mark = <size_t>m._p[index]
    cdef Spec s
    cdef Header ch
    cdef Py_ssize_t p = m._cstart
    cdef Py_ssize_t i = 0
    cdef FieldSpec f
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(m._src)
    if _is_value_mark(mark):
        cstart[0] = _leaf_start(mark)
        cend[0] = cstart[0] + _leaf_len(mark)
        return 0
    s = type(m)._asn1_spec
    while p < m._end and i < PyTuple_GET_SIZE(s.fields):
        read_header(buf, p, m._end, &ch, False)
        f = <FieldSpec>PyTuple_GET_ITEM(s.fields, i)
        if _matches(f.spec, &ch):
            if i == index:
                cstart[0] = ch.cstart
                cend[0] = ch.cend
                return 0
            p = ch.cend
        i += 1
    raise DecodeError(f"field {index} is absent", m._start, "missing-field")


cdef object _decode_in_place(bytes src, Spec s, Py_ssize_t start, Py_ssize_t end, bint ber, bint whole):
    # Decode the element at ``start`` (which must end at ``end`` when ``whole``) as ``s``, inside ``src``.
    cdef _Ctx ctx
    cdef Header h
    ctx.src = <PyObject*>src
    ctx.buf = <cbuf>PyBytes_AS_STRING(src)
    ctx.ber = ber
    ctx.top = 0
    ctx.fixes = 0
    try:
        read_header(ctx.buf, start, end, &h, False)
        if not _matches(s, &h):
            _unexpected(s, &h)
        v = _decode(&ctx, s, &h, 0)
        if whole and h.cend != end:
            _fail("contained value is followed by more data", h.cend, "trailing-data")
    except DecodeError as e:
        _add_path(&ctx, e)
        raise
    return v


def decode_at(spec, bytes src, Py_ssize_t start, Py_ssize_t end):
    """Decode the DER element that starts at ``start`` and ends exactly at ``end`` in ``src`` as ``spec``.
    Decoded models keep ``src`` itself (no copy); error offsets are offsets in ``src``."""
    if not 0 <= start <= end <= PyBytes_GET_SIZE(src):
        raise ValueError("bad range")
    return _decode_in_place(src, _as_spec(spec), start, end, False, True)


cdef class LazyContained:
    """Read-only attribute: the value contained in OCTET STRING field ``index``, decoded with the type that
    ``registry`` gives for the OID in field ``key_index``, on first read, and then kept in slot ``slot``. A
    malformed value raises ``DecodeError`` on each read (offset in the whole input, path relative to the
    contained value: ``$`` is its outermost element). OIDs not in the registry read as the raw content bytes;
    instances built from values decode their field's bytes."""
    cdef Py_ssize_t index
    cdef Py_ssize_t key_index
    cdef Py_ssize_t slot
    cdef dict registry
    cdef dict _specs
    cdef PyObject* _seen_t[4]
    cdef PyObject* _seen_s[4]
    cdef int _next

    def __init__(self, Py_ssize_t index, Py_ssize_t key_index, Py_ssize_t slot, dict registry):
        self.index = index
        self.key_index = key_index
        self.slot = slot
        self.registry = registry
        self._specs = {}
        memset(self._seen_t, 0, sizeof(self._seen_t))
        memset(self._seen_s, 0, sizeof(self._seen_s))

    cdef Spec _spec_for(self, object t):
        # The last few registry types and their specs, compared by identity (extensions of a certificate take turns
        # among a handful of types); else the per-type dict.
        cdef int k
        cdef PyObject* hit
        for k in range(4):
            if self._seen_t[k] == <PyObject*>t:
                return <Spec>self._seen_s[k]
        hit = PyDict_GetItem(self._specs, t)
        if hit != NULL:
            r = <Spec>hit
        else:
            r = _as_spec(t)
            self._specs[t] = r
        k = self._next
        self._next = (k + 1) & 3
        # Borrowed: the dict _specs owns both the type and its spec for the lifetime of this descriptor.
        self._seen_t[k] = <PyObject*>t
        self._seen_s[k] = <PyObject*>r
        return r

    def __get__(self, obj, objtype):
        if obj is None:
            return self
        return self._read(<Model?>obj)

    cdef object _read(self, Model m):
        cdef PyObject* p
        cdef Py_ssize_t cs, ce
        cdef size_t mark
        if self.slot >= m._n or self.index >= m._n or self.key_index >= m._n:
            raise TypeError("LazyContained does not fit this model")
        p = m._p[self.slot]
        if p != NULL and p != <PyObject*>None:     # instances built from values hold None there
            return <object>p
        key = m._get(self.key_index)
        p = PyDict_GetItem(self.registry, key) if key is not None else NULL
        if p == NULL or p == <PyObject*>None:
            return m._get(self.index)
        s = self._spec_for(<object>p)
        if m._src is None:
            raw = m._get(self.index)
            v = _decode_top(s, raw, False)
        else:
            mark = <size_t>m._p[self.index]
            if _is_value_mark(mark):    # a deferred leaf (the usual extnValue): its place is in the mark
                cs = _leaf_start(mark)
                ce = cs + _leaf_len(mark)
            else:
                _field_bounds(m, self.index, &cs, &ce)
            v = _decode_in_place(m._src, s, cs, ce, m._ber, True)
        if m._p[self.slot] == NULL or m._p[self.slot] == <PyObject*>None:
            m._put(self.slot, v)
        return v

    def read_all(self, list items):
        """Read this attribute on every model of ``items`` (each contained value decoded, checked and kept) and
        refuse two items with the same key field: returns None, or the index of the first item whose key an
        earlier item has. A DecodeError of item ``i`` leaves with ``[i]`` and the field's path segment added.
        One C loop for what a request's extension list needs checked (pkcs10)."""
        return self._read_all(items)

    cdef object _read_all(self, list items):
        cdef Py_ssize_t i, j, n = PyList_GET_SIZE(items)
        cdef Model m
        cdef object key
        for i in range(n):
            m = <Model?><object>PyList_GET_ITEM(items, i)
            if self.slot >= m._n or self.index >= m._n or self.key_index >= m._n:
                raise TypeError("LazyContained does not fit this model")
            key = m._get(self.key_index)
            for j in range(i):
                if (<Model>PyList_GET_ITEM(items, j))._get(self.key_index) == key:
                    return i
            try:
                self._read(m)
            except DecodeError as e:
                e._push(f"[{i}].{type(m)._asn1_spec.fields[self.index].name}")
                raise
        return None

    def __set__(self, obj, value):
        raise AttributeError(f"{type(obj).__name__} is immutable")

    def __delete__(self, obj):
        raise AttributeError(f"{type(obj).__name__} is immutable")


cdef class SingleAttributeList:
    """Read-only attribute for the common shape of a request's attributes (pkcs10 ``extensions``): the list value
    (of ``spec``) held by the only value of the only attribute, when that attribute has type ``attr_type`` and the
    attribute SET is a lazy field not built yet: decoded in place in the model's bytes (no copy of the value).
    Each item's contained value is read with ``reader`` (``LazyContained.read_all``). Any other shape, a value
    refused (DecodeError) or two items with the same key goes to ``fallback(obj)``, which knows the general case
    and raises its errors (offsets in the attribute value, as it always has).
    ``index_path``: the field indexes from the model to the SET OF Attribute.

    ``holder`` (the model class whose field ``index_path[-1]`` is that SET): the list is then read while the holder
    is decoded, in place of the validation of the SET (``_take``: the typed decode of the value checks all that
    validation would, and more), and kept in a slot added to the holder; each read returns that list. The SET
    is checked and read once instead of twice (a request is decoded to read its extensions). Shapes and values
    ``_take`` does not take are validated as before and read by the path above."""
    cdef tuple index_path
    cdef bytes _type_der       # attr_type's content octets
    cdef Spec spec
    cdef LazyContained reader
    cdef object fallback
    cdef Py_ssize_t slot       # the holder's slot for the list read while decoding; -1: none

    def __init__(self, tuple index_path, str attr_type, spec, LazyContained reader, fallback, holder=None):
        cdef Spec hs
        cdef FieldSpec f
        self.index_path = index_path
        self._type_der = encode_oid_content(attr_type)
        self.spec = _as_spec(spec)
        self.reader = reader
        self.fallback = fallback
        self.slot = -1
        if holder is not None:
            hs = <Spec?>holder._asn1_spec
            f = <FieldSpec?>hs.fields[<Py_ssize_t>index_path[len(index_path) - 1]]
            if not f.lazy or f.early is not None:
                raise TypeError("the early reader of a lazy field not read early yet")
            if hs.nslots + 1 > MAX_SLOTS:
                raise TypeError(f"a model holds at most {MAX_SLOTS} values")
            self.slot = hs.nslots
            hs.nslots += 1
            f.early = self
            hs._plan_of = None      # the decoding plan is made again, with the reader

    cdef object _read(self, bytes src, Header* h):
        # The list of the usual shape, from the SET OF Attribute whose header is ``h`` in ``src``: the one value of
        # the one attribute, of type attr_type, decoded in place (the items share ``src``) with every item's
        # contained value read. None for any other shape, a value refused (DecodeError) or two items with the same
        # key: the general path, or the validation of the SET, then says what is wrong.
        cdef Header a, t, vs, v
        cdef cbuf buf = <cbuf>PyBytes_AS_STRING(src)
        cdef Py_ssize_t k = PyBytes_GET_SIZE(self._type_der)
        if not h.cons or h.cstart == h.cend:
            return None
        try:
            read_header(buf, h.cstart, h.cend, &a, False)
            if a.cend != h.cend or a.cls != CLS_UNIVERSAL or a.tag != T_SEQUENCE or not a.cons or a.cstart == a.cend:
                return None     # more than one attribute, or not an attribute
            read_header(buf, a.cstart, a.cend, &t, False)
            if t.cls != CLS_UNIVERSAL or t.tag != T_OID or t.cons or t.cend == a.cend or t.cend - t.cstart != k \
                    or memcmp(buf + t.cstart, PyBytes_AS_STRING(self._type_der), k) != 0:
                return None
            read_header(buf, t.cend, a.cend, &vs, False)
            if vs.cend != a.cend or vs.cls != CLS_UNIVERSAL or vs.tag != T_SET or not vs.cons or vs.cstart == vs.cend:
                return None
            read_header(buf, vs.cstart, vs.cend, &v, False)
            if v.cend != vs.cend:
                return None     # more than one value
            items = _decode_in_place(src, self.spec, v.start, v.cend, False, True)
            if type(items) is not list or self.reader._read_all(<list>items) is not None:
                return None
        except DecodeError:
            return None
        return items

    cdef bint _take(self, Model m, Header* h) except -1:
        # While ``m`` is decoded: ``h`` is the SET OF Attribute. True if its list was read (_read) and kept in the
        # slot; False, having kept nothing: the caller then validates the SET as always (and raises its errors).
        if self.slot < 0 or self.slot >= m._n:
            return False
        items = self._read(m._src, h)
        if items is None:
            return False
        m._put(self.slot, items)
        return True

    def __get__(self, obj, objtype):
        if obj is None:
            return self
        cdef object cur = <Model?>obj
        cdef Model a
        cdef Py_ssize_t i, n = PyTuple_GET_SIZE(self.index_path)
        cdef Py_ssize_t k
        cdef PyObject* p
        cdef Header h
        for i in range(n - 1):
            cur = (<Model?>cur)._get(<Py_ssize_t><object>PyTuple_GET_ITEM(self.index_path, i))
        k = <Py_ssize_t><object>PyTuple_GET_ITEM(self.index_path, n - 1)
        a = <Model?>cur
        if self.slot >= 0 and a._p != NULL and self.slot < a._n:
            p = a._p[self.slot]
            if p != NULL and p != <PyObject*>None:
                return <list>p          # read while decoding (the same list on each read, as a decoded field)
        # the attributes were checked and not built (a lazy field): find the one value in their bytes; built ones
        # (read before, decoded as BER, made from values) go to the general path
        if a._p == NULL or k >= a._n or not _is_tree_mark(<size_t>a._p[k]):
            return self.fallback(obj)
        read_header(<cbuf>PyBytes_AS_STRING(a._src), _leaf_start(<size_t>a._p[k]),
                    _leaf_start(<size_t>a._p[k]) + _leaf_len(<size_t>a._p[k]), &h, False)
        # Anything refused goes to the general path, which decodes the value on its own and raises with offsets in
        # it, as it always has.
        items = self._read(a._src, &h)
        return items if items is not None else self.fallback(obj)

    def __set__(self, obj, value):
        raise AttributeError(f"{type(obj).__name__} is immutable")

    def __delete__(self, obj):
        raise AttributeError(f"{type(obj).__name__} is immutable")


def tlv_children(bytes src, Py_ssize_t start, Py_ssize_t end):
    """``[(tag_class, constructed, tag, start, content_start, end), ...]`` of the DER elements that fill
    ``src[start:end]`` exactly (strict DER headers; contents are not checked here)."""
    cdef Header h
    cdef Py_ssize_t p = start
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(src)
    cdef list out = []
    if not 0 <= start <= end <= PyBytes_GET_SIZE(src):
        raise ValueError("bad range")
    while p < end:
        read_header(buf, p, end, &h, False)
        out.append((h.cls, h.cons, h.tag, h.start, h.cstart, h.cend))
        p = h.cend
    return out


# --- SEQUENCE OF entries located by offset (CRL revokedCertificates) -------------------------------------------

cdef str _SEG_SERIAL = ".user_certificate"
cdef str _SEG_DATE = ".revocation_date"
cdef str _SEG_EXTS = ".crl_entry_extensions"


cdef inline bint _is(Header* h, int tag, bint cons) noexcept:
    return h.cls == CLS_UNIVERSAL and h.tag == tag and h.cons == cons


cdef int _check_extensions_shallow(cbuf buf, Header* h, int* part, Py_ssize_t* ext_i) except -1:
    # Extensions ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
    # extnValue OCTET STRING }. The values inside extnValue are checked when they are read.
    cdef Header e, c
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t q
    ext_i[0] = 0
    if h.cstart == h.cend:
        _fail("Extensions must hold at least one extension", h.start, "too-few-elements")
    while p < h.cend:
        read_header(buf, p, h.cend, &e, False)
        if not _is(&e, T_SEQUENCE, True):
            _fail(f"expected SEQUENCE (Extension), got {tag_name(e.cls, e.tag, e.cons)}", e.start, "unexpected-tag")
        part[0] = 1
        q = e.cstart
        if q >= e.cend:
            _fail("Extension ends before its field extn_id", e.start, "missing-field")
        read_header(buf, q, e.cend, &c, False)
        if not _is(&c, T_OID, False):
            _fail(f"expected OBJECT IDENTIFIER, got {tag_name(c.cls, c.tag, c.cons)}", c.start, "unexpected-tag")
        check_oid(buf, c.cstart, c.cend, c.start, False)
        q = c.cend
        part[0] = 2
        if q < e.cend:
            read_header(buf, q, e.cend, &c, False)
            if _is(&c, T_BOOLEAN, False):
                if not dec_boolean(buf, c.cstart, c.cend, c.start, False):
                    _fail("critical is encoded although it equals its DEFAULT", c.start, "default-encoded")
                q = c.cend
        part[0] = 3
        if q >= e.cend:
            _fail("Extension ends before its field extn_value", e.start, "missing-field")
        read_header(buf, q, e.cend, &c, False)
        if not _is(&c, T_OCTET_STRING, False):
            _fail(f"expected OCTET STRING, got {tag_name(c.cls, c.tag, c.cons)}", c.start, "unexpected-tag")
        if c.cend != e.cend:
            _fail("Extension has an unexpected element after its last field", c.cend, "unexpected-tag")
        part[0] = 0
        p = e.cend
        ext_i[0] += 1
    return 0


cdef inline bint _utc_time_ok(cbuf p, Py_ssize_t n) noexcept:
    # The one DER form of UTCTime, YYMMDDHHMMSSZ, with its fields in range: the check parse_utc_time makes, without
    # building its parts (a CRL has one per entry). False sends the caller to parse_utc_time for the error.
    cdef int k, y, mo, d, h, mi, sec
    if n != 13 or p[12] != 90:
        return False
    for k in range(12):
        if p[k] < 48 or p[k] > 57:
            return False
    y = (p[0] - 48) * 10 + (p[1] - 48)
    y += 1900 if y >= 50 else 2000
    mo = (p[2] - 48) * 10 + (p[3] - 48)
    d = (p[4] - 48) * 10 + (p[5] - 48)
    h = (p[6] - 48) * 10 + (p[7] - 48)
    mi = (p[8] - 48) * 10 + (p[9] - 48)
    sec = (p[10] - 48) * 10 + (p[11] - 48)
    if mo < 1 or mo > 12 or d < 1 or h > 23 or mi > 59 or sec > 59:
        return False
    if d > 28 and d > _days_in_month(y, mo):
        return False
    return True


cdef int _check_revoked_entry(cbuf buf, Header* e, int* part, int* sub, Py_ssize_t* ext_i) except -1:
    # revokedCertificates entry: SEQUENCE { userCertificate INTEGER, revocationDate Time,
    # crlEntryExtensions Extensions OPTIONAL }.
    cdef Header c
    cdef TimeParts t
    cdef Py_ssize_t p = e.cstart
    if not _is(e, T_SEQUENCE, True):
        _fail(f"expected SEQUENCE (RevokedCertificate), got {tag_name(e.cls, e.tag, e.cons)}", e.start,
              "unexpected-tag")
    part[0] = 1
    if p >= e.cend:
        _fail("RevokedCertificate ends before its field user_certificate", e.start, "missing-field")
    read_header(buf, p, e.cend, &c, False)
    if not _is(&c, T_INTEGER, False):
        _fail(f"expected INTEGER, got {tag_name(c.cls, c.tag, c.cons)}", c.start, "unexpected-tag")
    check_integer(buf, c.cstart, c.cend, c.start)
    p = c.cend
    part[0] = 2
    if p >= e.cend:
        _fail("RevokedCertificate ends before its field revocation_date", e.start, "missing-field")
    read_header(buf, p, e.cend, &c, False)
    if _is(&c, T_UTC_TIME, False):
        if not _utc_time_ok(buf + c.cstart, c.cend - c.cstart):
            parse_utc_time(buf + c.cstart, c.cend - c.cstart, c.start, False, &t)  # raises the precise error
    elif _is(&c, T_GENERALIZED_TIME, False):
        parse_generalized_time(buf + c.cstart, c.cend - c.cstart, c.start, False, &t)
    else:
        _fail(f"expected CHOICE (Time), got {tag_name(c.cls, c.tag, c.cons)}", c.start, "unexpected-tag")
    p = c.cend
    part[0] = 0
    if p < e.cend:
        read_header(buf, p, e.cend, &c, False)
        if not _is(&c, T_SEQUENCE, True):
            _fail("RevokedCertificate has an unexpected element after its last field", c.start, "unexpected-tag")
        part[0] = 3
        _check_extensions_shallow(buf, &c, sub, ext_i)
        if c.cend != e.cend:
            _fail("RevokedCertificate has an unexpected element after its last field", c.cend, "unexpected-tag")
        part[0] = 0
    return 0


cdef inline Py_ssize_t _skip_header(cbuf buf, Py_ssize_t p, Py_ssize_t* length) noexcept:
    # Header of an element already validated as DER with a one-byte tag: the content offset; its length in *length.
    cdef unsigned int b = buf[p + 1]
    cdef Py_ssize_t n = 0
    cdef int k
    p += 2
    if b < 0x80:
        length[0] = b
        return p
    for k in range(b & 0x7F):
        n = (n << 8) | buf[p]
        p += 1
    length[0] = n
    return p


cdef inline Py_ssize_t _serial_at(cbuf buf, Py_ssize_t entry, Py_ssize_t* n) noexcept:
    # The content offset of an entry's userCertificate INTEGER (and its length in *n).
    cdef Py_ssize_t elen
    cdef Py_ssize_t p = _skip_header(buf, entry, &elen)
    return _skip_header(buf, p, n)


cdef cbuf _sort_buf = NULL


cdef int _cmp_serial(const void* a, const void* b) noexcept:
    # Order of entries by serial octets (length first: minimal INTEGERs of equal value are equal octets), then
    # by position, so the first of duplicate serials sorts first.
    cdef Py_ssize_t ea = (<Py_ssize_t*>a)[0]
    cdef Py_ssize_t eb = (<Py_ssize_t*>b)[0]
    cdef Py_ssize_t na, nb
    cdef Py_ssize_t pa = _serial_at(_sort_buf, ea, &na)
    cdef Py_ssize_t pb = _serial_at(_sort_buf, eb, &nb)
    cdef int r
    if na != nb:
        return -1 if na < nb else 1
    r = memcmp(_sort_buf + pa, _sort_buf + pb, na)
    if r != 0:
        return r
    return -1 if ea < eb else (1 if ea > eb else 0)


cdef extern from "stdlib.h":
    void qsort(void* base, size_t n, size_t size, int (*cmp)(const void*, const void*) noexcept)


cdef int _cmp_key(cbuf buf, Py_ssize_t entry, cbuf key, Py_ssize_t kn) noexcept:
    cdef Py_ssize_t n
    cdef Py_ssize_t p = _serial_at(buf, entry, &n)
    if n != kn:
        return -1 if n < kn else 1
    return memcmp(buf + p, key, kn)


cdef object _revoked_entry(SeqOfIndex idx, Py_ssize_t p):
    # One entry, validated already by SeqOfIndex (the bytes are immutable): the RevokedCertificate model is filled
    # directly (the same instance the schema engine would make), without the engine's generic walk and without
    # checking again; its extensions, if any, are decoded (and so checked as Extension models) by the engine.
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(idx.src)
    cdef Model m
    cdef Spec s = <Spec>idx.entry_spec
    cdef Py_ssize_t elen, ilen, tlen, cs, end, ts, q
    cdef Header c
    cdef cbuf t
    cs = _skip_header(buf, p, &elen)
    end = cs + elen
    m = <Model>_new_model(<PyObject*>s.model)
    m._alloc(s.nslots)
    m._src = idx.src
    q = _skip_header(buf, cs, &ilen)
    m._put(0, dec_integer(buf, q, q + ilen, cs))
    ts = q + ilen
    q = _skip_header(buf, ts, &tlen)
    t = buf + q
    if buf[ts] == T_UTC_TIME and tlen == 13:
        # YYMMDDHHMMSSZ, checked by SeqOfIndex
        m._put(1, datetime_new(
            ((t[0] - 48) * 10 + (t[1] - 48)) + (1900 if t[0] >= 53 else 2000),
            (t[2] - 48) * 10 + (t[3] - 48), (t[4] - 48) * 10 + (t[5] - 48), (t[6] - 48) * 10 + (t[7] - 48),
            (t[8] - 48) * 10 + (t[9] - 48), (t[10] - 48) * 10 + (t[11] - 48), 0, _UTC))
    elif buf[ts] == T_UTC_TIME:
        m._put(1, dec_utc_time(buf, q, q + tlen, ts, False))
    else:
        m._put(1, dec_generalized_time(buf, q, q + tlen, ts, False))
    q += tlen
    if q < end:
        read_header(buf, q, end, &c, False)
        m._put(2, _decode_in_place(idx.src, idx._ext_spec, c.start, c.cend, False, True))
    m._start = p
    m._cstart = cs
    m._end = end
    m._ber = False
    return m


@cython.final
cdef class SeqOfIndex:
    """The entries of a SEQUENCE OF RevokedCertificate lying in ``src[start:end]`` (its contents), each
    validated as DER once, at creation (serial a minimal INTEGER, a valid Time, extensions well formed; the values
    inside their extnValue are checked when read). No object is made per entry: iteration decodes one entry at a
    time, and ``find(serial_octets)`` scans the serials in place; after a few lookups it sorts the entry offsets
    once and searches them by bisection."""
    cdef readonly bytes src
    cdef readonly Py_ssize_t start
    cdef readonly Py_ssize_t end
    cdef readonly Py_ssize_t count
    cdef readonly object entry_spec
    cdef Py_ssize_t* _sorted
    cdef Py_ssize_t _lookups
    cdef Spec _ext_spec

    def __cinit__(self, bytes src, Py_ssize_t start, Py_ssize_t end, entry_spec):
        cdef cbuf buf = <cbuf>PyBytes_AS_STRING(src)
        cdef Header e
        cdef Py_ssize_t p = start
        cdef Py_ssize_t i = 0
        cdef Py_ssize_t ext_i = 0
        cdef int part = 0
        cdef int sub = 0
        if not 0 <= start <= end <= PyBytes_GET_SIZE(src):
            raise ValueError("bad range")
        self.src = src
        self.start = start
        self.end = end
        self.entry_spec = _as_spec(entry_spec)
        if (<Spec>self.entry_spec).kind != K_SEQ or len((<Spec>self.entry_spec).fields) != 3:
            raise TypeError("entry_spec must be a SEQUENCE model of userCertificate, revocationDate, extensions")
        self._ext_spec = (<FieldSpec>(<Spec>self.entry_spec).fields[2]).spec
        try:
            while p < end:
                part = 0
                read_header(buf, p, end, &e, False)
                _check_revoked_entry(buf, &e, &part, &sub, &ext_i)
                p = e.cend
                i += 1
        except DecodeError as err:
            if part == 3:
                if sub == 1:
                    err._push(".extn_id")
                elif sub == 2:
                    err._push(".critical")
                elif sub == 3:
                    err._push(".extn_value")
                err._push(f"[{ext_i}]")
                err._push(_SEG_EXTS)
            elif part == 1:
                err._push(_SEG_SERIAL)
            elif part == 2:
                err._push(_SEG_DATE)
            err._push(f"[{i}]")
            raise
        self.count = i

    def __dealloc__(self):
        PyMem_Free(self._sorted)

    def __len__(self):
        return self.count

    def __iter__(self):
        return _SeqOfIter(self)

    def offsets(self):
        """``[(start, end), ...]`` of every entry (for callers that index entries themselves)."""
        cdef Header e
        cdef Py_ssize_t p = self.start
        cdef list out = []
        cdef cbuf buf = <cbuf>PyBytes_AS_STRING(self.src)
        while p < self.end:
            read_header(buf, p, self.end, &e, False)
            out.append((e.start, e.cend))
            p = e.cend
        return out

    cdef int _build_sorted(self) except -1:
        cdef Py_ssize_t* arr = <Py_ssize_t*>PyMem_Malloc((self.count + 1) * sizeof(Py_ssize_t))
        cdef Py_ssize_t p = self.start
        cdef Py_ssize_t i = 0
        cdef Py_ssize_t n
        cdef cbuf buf = <cbuf>PyBytes_AS_STRING(self.src)
        if arr == NULL:
            raise MemoryError()
        while p < self.end:
            arr[i] = p
            i += 1
            p = _skip_header(buf, p, &n) + n
        global _sort_buf
        _sort_buf = buf
        qsort(arr, <size_t>self.count, sizeof(Py_ssize_t), _cmp_serial)
        _sort_buf = NULL
        self._sorted = arr
        return 0

    def find(self, bytes serial):
        """The first entry whose userCertificate INTEGER has exactly the content octets ``serial`` (its minimal
        two's-complement form), decoded; or None."""
        cdef cbuf buf = <cbuf>PyBytes_AS_STRING(self.src)
        cdef cbuf key = <cbuf>PyBytes_AS_STRING(serial)
        cdef Py_ssize_t kn = PyBytes_GET_SIZE(serial)
        cdef Py_ssize_t p = self.start
        cdef Py_ssize_t n, q, lo, hi, mid
        cdef Py_ssize_t hit = -1
        self._lookups += 1
        if self._sorted == NULL and self._lookups > 2 and self.count > 64:
            self._build_sorted()
        if self._sorted != NULL:
            lo = 0
            hi = self.count
            while lo < hi:
                mid = (lo + hi) >> 1
                if _cmp_key(buf, self._sorted[mid], key, kn) < 0:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < self.count and _cmp_key(buf, self._sorted[lo], key, kn) == 0:
                hit = self._sorted[lo]
        else:
            while p < self.end:
                if _cmp_key(buf, p, key, kn) == 0:
                    hit = p
                    break
                p = _skip_header(buf, p, &n) + n
        if hit < 0:
            return None
        return _revoked_entry(self, hit)


@cython.final
cdef class _SeqOfIter:
    cdef SeqOfIndex idx
    cdef Py_ssize_t p

    def __cinit__(self, SeqOfIndex idx):
        self.idx = idx
        self.p = idx.start

    def __iter__(self):
        return self

    def __next__(self):
        cdef Py_ssize_t n, q
        cdef SeqOfIndex idx = self.idx
        if self.p >= idx.end:
            raise StopIteration
        q = _skip_header(<cbuf>PyBytes_AS_STRING(idx.src), self.p, &n) + n
        v = _revoked_entry(idx, self.p)
        self.p = q
        return v
