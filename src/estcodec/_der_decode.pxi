# The schema engine's decoder: walks a spec over DER (or normalised BER) to build model instances, with the
# validation-only walk used by lazily built values and the RDN fast path of x509.Name.

# --- decoding ---------------------------------------------------------------------------------------------

DEF MAX_PATH = 128


cdef struct _Ctx:
    PyObject* src       # borrowed: the caller of _decode_top keeps the bytes alive
    cbuf buf
    bint ber
    # The model path of what is being decoded, one entry per level entered: a field's segment (``.name``, borrowed
    # from its FieldSpec) or, where seg is NULL, an index into a SEQUENCE OF. Entries are dropped when a level
    # finishes; an error leaves them in place, and the top-level handler turns them into the error's path (no
    # try/except per level).
    int top
    PyObject* seg[MAX_PATH]
    Py_ssize_t idx[MAX_PATH]
    # BER only: encodings met that only the schema knows are not DER (a DEFAULT value present, trailing zero bits
    # of a named bit list, a constructed or non-canonical IMPLICIT-tagged primitive). When there were any, the
    # decoded value is re-encoded as DER and read again (see _renormalised).
    int fixes


cdef inline void _enter(_Ctx* ctx, PyObject* seg, Py_ssize_t idx) noexcept:
    if ctx.top < MAX_PATH:
        ctx.seg[ctx.top] = seg
        ctx.idx[ctx.top] = idx
    ctx.top += 1


cdef inline void _leave(_Ctx* ctx) noexcept:
    ctx.top -= 1


cdef void _add_path(_Ctx* ctx, object err):
    # Innermost first, as DecodeError._push expects while an error unwinds.
    cdef int k = ctx.top if ctx.top < MAX_PATH else MAX_PATH
    while k > 0:
        k -= 1
        if ctx.seg[k] != NULL:
            err._push(<object>ctx.seg[k])
        else:
            err._push(f"[{ctx.idx[k]}]")
    ctx.top = 0


cdef str _expected_name(Spec s):
    if s.type_name:
        return s.type_name
    if s.tcls >= 0:
        return tag_name(s.tcls, s.tnum, False)
    return "a value"


cdef int _unexpected(Spec s, Header* h) except -1:
    _fail(f"expected {_expected_name(s)}, got {tag_name(h.cls, h.tag, h.cons)}", h.start, "unexpected-tag")


cdef Py_ssize_t _choice_scan(Spec s, Header* h) noexcept:
    cdef Py_ssize_t i
    cdef FieldSpec f
    for i in range(PyTuple_GET_SIZE(s.fields)):
        f = <FieldSpec>PyTuple_GET_ITEM(s.fields, i)
        if _matches(f.spec, h):
            return i
    return -1


cdef Py_ssize_t _choice_index(Spec s, Header* h) noexcept:
    # Which alternative a tag selects: a table over the 128 one-byte identifiers (class and tag number below 31),
    # filled on first use by asking the scan for each; high tag numbers take the scan.
    cdef Header probe
    cdef int k
    cdef Py_ssize_t i
    if h.tag >= 31:
        return _choice_scan(s, h)
    if s._ctab_of is not s.fields:
        if PyTuple_GET_SIZE(s.fields) > 127:
            return _choice_scan(s, h)
        for k in range(128):
            probe.cls = k >> 5
            probe.tag = k & 31
            probe.cons = False
            i = _choice_scan(s, &probe) if (k & 31) != 31 else -1
            s._ctab[k] = <signed char>i
        s._ctab_of = s.fields
    return s._ctab[(h.cls << 5) | h.tag]


cdef bint _matches(Spec s, Header* h) noexcept:
    cdef int kind = s.kind
    if kind == K_ANY or kind == K_ANYVAL:
        # An ANY with a tag of its own (an IMPLICIT-tagged type kept raw) matches only that tag.
        return s.tcls < 0 or (h.cls == s.tcls and h.tag == s.tnum)
    if s.tcls < 0:
        if kind == K_CHOICE:
            return _choice_index(s, h) >= 0
        return True
    return h.cls == s.tcls and h.tag == s.tnum


cdef bytes _NULL_TLV = b"\x05\x00"


cdef object _raw_tlv(_Ctx* ctx, Header* h):
    # The NULL of AlgorithmIdentifier parameters is the most common raw value: share one bytes object for it.
    if h.cend - h.start == 2 and ctx.buf[h.start] == 0x05 and ctx.buf[h.start + 1] == 0:
        return _NULL_TLV
    return PyBytes_FromStringAndSize(<char*>ctx.buf + h.start, h.cend - h.start)


cdef object _decode_named_bits(_Ctx* ctx, Spec s, Header* h):
    # Read the bits straight from the input (no intermediate BitStringValue).
    cdef cbuf buf = ctx.buf
    cdef Py_ssize_t cs = h.cstart
    cdef Py_ssize_t nbits, i, last
    cdef tuple names = s.bit_names
    cdef Py_ssize_t nnames = PyTuple_GET_SIZE(names)
    cdef list out
    cdef unsigned long mask = 0
    cdef object key = None
    cdef PyObject* hit
    check_bit_string(buf, cs, h.cend, h.start, ctx.ber)
    nbits = (h.cend - cs - 1) * 8 - buf[cs]
    if nbits:
        last = nbits - 1
        if not (buf[cs + 1 + (last >> 3)] & (0x80 >> (last & 7))):
            if not ctx.ber:
                _fail("named BIT STRING has trailing zero bits", h.start, "invalid-bit-string")
            ctx.fixes += 1
    if nbits <= 16:
        # Few distinct values occur (keyUsage): the frozenset of a mask is made once and shared (it is immutable).
        for i in range(nbits):
            if buf[cs + 1 + (i >> 3)] & (0x80 >> (i & 7)):
                mask |= (<unsigned long>1) << i
        if s._nb_of is not names or s._nb_sets is None:
            s._nb_sets = {}
            s._nb_of = names
        key = <long>mask
        hit = PyDict_GetItem(s._nb_sets, key)
        if hit != NULL:
            return <object>hit
    out = []
    for i in range(nbits):
        if buf[cs + 1 + (i >> 3)] & (0x80 >> (i & 7)):
            out.append(<object>PyTuple_GET_ITEM(names, i) if i < nnames else f"bit{i}")
    v = frozenset(out)
    if key is not None and len(s._nb_sets) < 256:     # bounded, whatever a peer sends
        s._nb_sets[key] = v
    return v


cdef object _decode_choice(_Ctx* ctx, Spec s, Header* h, int depth):
    cdef Py_ssize_t idx = _choice_index(s, h)
    cdef FieldSpec alt
    cdef ChoiceModel cm
    cdef list pairs = None
    cdef bint lazy
    if idx < 0:
        _unexpected(s, h)
    alt = <FieldSpec>PyTuple_GET_ITEM(s.fields, idx)
    lazy = s.lazy and not s.transparent
    _enter(ctx, <PyObject*>alt.seg, 0)
    if lazy:
        if s.rdn_pairs_on_read and s.rdn_pairs and not ctx.ber:
            if not _rdn_checked(ctx, h, depth + 1, s.lenient_values):
                _validate(ctx, alt.spec, h, depth + 1, s.lenient_values)
        else:
            pairs = _rdn_pairs_checked(ctx, h, depth + 1) if s.rdn_pairs and not ctx.ber else None
            if pairs is None:
                _validate(ctx, alt.spec, h, depth + 1, s.lenient_values)
        v = None
    else:
        v = _decode(ctx, alt.spec, h, depth + 1)
    _leave(ctx)
    if s.transparent:
        return v
    cm = <ChoiceModel>_new_model(<PyObject*>s.model)
    cm._index = idx
    cm._value = v
    cm._lazy = lazy
    cm._pairs = pairs
    cm._ber = ctx.ber
    cm._src = <bytes>ctx.src
    cm._start = h.start
    cm._end = h.cend
    return cm


cdef object _decode(_Ctx* ctx, Spec s, Header* h, int depth):
    cdef int kind = s.kind
    cdef Header ih
    if kind < 100:
        if h.cons:
            if ctx.ber and _is_string_tag(kind):
                return _decode_ber_segments(ctx, s, h)
            _fail(f"{_expected_name(s)} must be primitive", h.start, "constructed-primitive")
        v = prim_value(kind, ctx.buf, h.cstart, h.cend, h.start, ctx.ber)
        _note_ber_form(ctx, kind, v, h)
        return v
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", h.start, "too-deep")
    if kind == K_SEQ:
        return _decode_seq(ctx, s, h, depth)
    if kind == K_SEQOF or kind == K_SETOF:
        return _decode_seqof(ctx, s, h, depth)
    if kind == K_EXPLICIT:
        if not h.cons:
            _fail(f"explicit tag {_expected_name(s)} must be constructed", h.start, "primitive-constructed")
        read_header(ctx.buf, h.cstart, h.cend, &ih, False)
        if ih.cend != h.cend:
            _fail("explicitly tagged value is followed by more data", ih.cend, "trailing-data")
        if not _matches(s.inner, &ih):
            _unexpected(s.inner, &ih)
        return _decode(ctx, s.inner, &ih, depth + 1)
    if kind == K_CHOICE:
        return _decode_choice(ctx, s, h, depth)
    if kind == K_ANY:
        _check_tree(ctx, h, depth)
        return _raw_tlv(ctx, h)
    if kind == K_ANYVAL:
        if h.cls == CLS_UNIVERSAL and not h.cons and not _must_be_constructed(h.tag) and h.tag != T_EOC:
            return prim_value(h.tag, ctx.buf, h.cstart, h.cend, h.start, ctx.ber)
        _check_tree(ctx, h, depth)
        return _raw_tlv(ctx, h)
    if kind == K_NAMEDBITS:
        if h.cons:
            _fail("BIT STRING must be primitive", h.start, "constructed-primitive")
        return _decode_named_bits(ctx, s, h)
    raise AssertionError(f"unknown spec kind {kind}")


cdef int _missing_field(Spec s, FieldSpec f, Spec fs, Header* h, Header* ch, bint have) except -1:
    # A required component is absent: the next element has another tag, or the SEQUENCE ended.
    if have:
        err = DecodeError(f"expected {_expected_name(fs)}, got {tag_name(ch.cls, ch.tag, ch.cons)}",
                          ch.start, "unexpected-tag")
    else:
        err = DecodeError(f"{_expected_name(s)} ends before its field {f.name}", h.start, "missing-field")
    err._push(f.seg)
    raise err


cdef int _check_tree(_Ctx* ctx, Header* h, int depth) except -1:
    """Schema-less validation of an open-type value kept raw: TLV framing, DER lengths and tags, primitive and
    constructed forms, and the contents of BOOLEAN, INTEGER, ENUMERATED, NULL, OBJECT IDENTIFIER and BIT STRING (the
    input here is DER, or BER already normalised). Documented leniency: the character sets of string types and the
    forms of times inside a raw value are not checked here (real peers, libest among them, put letters in a
    NumericString); they are checked when the value is decoded with its type."""
    cdef Header ch
    cdef Py_ssize_t p
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", h.start, "too-deep")
    if h.cls == CLS_UNIVERSAL:
        if h.tag == T_EOC:
            _fail("end-of-contents outside an indefinite-length element", h.start, "unexpected-eoc")
        check_universal_form(h.tag, h.cons, h.start, False)
    if h.cons:
        p = h.cstart
        while p < h.cend:
            read_header(ctx.buf, p, h.cend, &ch, False)
            _check_tree(ctx, &ch, depth + 1)
            p = ch.cend
    elif h.cls == CLS_UNIVERSAL and not _is_text_tag(h.tag) and h.tag != T_UTC_TIME \
            and h.tag != T_GENERALIZED_TIME:
        check_primitive(h.tag, ctx.buf, h.cstart, h.cend, h.start, ctx.ber)
    return 0


cdef int _check_value_shallow(_Ctx* ctx, Header* h, int depth) except -1:
    """``_check_tree`` for an open-type value under ``Spec.lenient_values`` (an attribute value of a certificate's
    issuer or subject). The value's own TLV is checked as ``_check_tree`` checks it (its identifier, its length
    within the enclosing element, the form of a universal tag, no end-of-contents); a primitive value's contents
    too. A constructed value's contents are walked, and if they do not parse the value is kept as its raw bytes:
    decoding it (``Name.value`` and the accessors built on it, ``Certificate.validate_names()``) raises the same
    ``DecodeError`` then. cryptography loads such certificates and fails when the name is read
    (cryptography_vectors ``custom/name_attribute_unsupported_tag.pem``: ``[APPLICATION 9]`` around non-TLVs)."""
    cdef Header ch
    cdef Py_ssize_t p
    if not h.cons:
        return _check_tree(ctx, h, depth)
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", h.start, "too-deep")
    if h.cls == CLS_UNIVERSAL:
        if h.tag == T_EOC:
            _fail("end-of-contents outside an indefinite-length element", h.start, "unexpected-eoc")
        check_universal_form(h.tag, h.cons, h.start, False)
    try:
        p = h.cstart
        while p < h.cend:
            read_header(ctx.buf, p, h.cend, &ch, False)
            _check_tree(ctx, &ch, depth + 1)
            p = ch.cend
    except DecodeError:
        pass   # kept raw: checked when read
    return 0


cdef bint _needs_values(Spec s):
    # A SEQUENCE whose checks need decoded values (ANY DEFINED BY, DEFAULT, contained values) is validated by
    # decoding it.
    cdef FieldSpec f
    for f in s.fields:
        if f.defined_by >= 0 or f.has_default or f.contained:
            return True
    return False


cdef int _validate_seq(_Ctx* ctx, Spec s, Header* h, int depth, bint shallow) except -2:
    # _validate of a SEQUENCE (strict DER) over its flattened plan, as _decode_seq walks it, building nothing but
    # what a check needs: the OID an ANY DEFINED BY depends on (from the OID cache), a DEFAULT field's value.
    # Returns -1, having checked nothing, for the shapes it leaves to the caller: contained values, and an ANY
    # DEFINED BY whose key is not an OBJECT IDENTIFIER field.
    cdef Py_ssize_t n = PyTuple_GET_SIZE(s.fields)
    cdef _FPlan* plan = s._plan
    cdef _FPlan* fp
    cdef Py_ssize_t i, p, end
    cdef Py_ssize_t keyidx = -1
    cdef object key = None
    cdef bint have = False
    cdef bint hit
    cdef Header ch
    cdef Spec rs
    if plan == NULL or s._plan_of is not s.fields:
        plan = _build_plan(s)
    for i in range(n):
        fp = &plan[i]
        if fp.contained or (fp.defined_by >= 0 and plan[fp.defined_by].kind != T_OID):
            return -1
    if not h.cons:
        _fail(f"{_expected_name(s)} must be constructed", h.start, "primitive-constructed")
    p = h.cstart
    end = h.cend
    for i in range(n):
        fp = &plan[i]
        if not have and p < end:
            read_header(ctx.buf, p, end, &ch, False)
            have = True
        if not have:
            if not fp.optional and not fp.has_default:
                _missing_field(s, <FieldSpec>fp.field, <Spec>fp.spec, h, &ch, False)
            continue
        rs = None
        if fp.defined_by >= 0:
            t = (<FieldSpec>fp.field).registry.get(key) if keyidx == fp.defined_by else None
            if t is not None:
                rs = _resolve_defined(<FieldSpec>fp.field, t)
                if not _matches(rs, &ch):
                    _enter(ctx, fp.seg, 0)
                    _unexpected(rs, &ch)
        if rs is not None:
            hit = True
        elif fp.tcls >= 0:
            hit = ch.cls == fp.tcls and ch.tag == fp.tnum
        else:
            hit = _matches(<Spec>fp.spec, &ch)
        if not hit:
            if not fp.optional and not fp.has_default:
                _missing_field(s, <FieldSpec>fp.field, <Spec>fp.spec, h, &ch, True)
            continue
        _enter(ctx, fp.seg, 0)
        if rs is not None:
            _validate(ctx, rs, &ch, depth + 1, shallow)
        elif fp.kind == T_OID and not ch.cons:
            key = dec_oid(ctx.buf, ch.cstart, ch.cend, ch.start)
            keyidx = i
            if fp.has_allowed:
                _check_allowed(<FieldSpec>fp.field, key, ch.start)
        elif fp.has_default or fp.has_allowed:
            v = _decode(ctx, <Spec>fp.spec, &ch, depth + 1)
            if fp.has_allowed:
                _check_allowed(<FieldSpec>fp.field, v, ch.start)
            if fp.has_default and _is_default(v, (<FieldSpec>fp.field).default):
                _fail(f"{(<FieldSpec>fp.field).name} is encoded although it equals its DEFAULT", ch.start,
                      "default-encoded")
        else:
            _validate(ctx, <Spec>fp.spec, &ch, depth + 1, shallow)
        _leave(ctx)
        p = ch.cend
        have = False
    if have or p < end:
        _fail(f"{_expected_name(s)} has an unexpected element after its last field", p, "unexpected-tag")
    return 0


cdef int _validate(_Ctx* ctx, Spec s, Header* h, int depth, bint shallow=False) except -1:
    """Every check ``_decode`` makes, without building values where that can be avoided. ``shallow``: open-type
    values (ANY) get the schema-less checks only (``_check_tree``: DER framing, tags, forms, the contents of
    BOOLEAN, INTEGER, OID, BIT STRING), not those of their string or time contents (see Spec.lenient_values)."""
    cdef int kind = s.kind
    cdef Header ih
    cdef Header ch
    cdef Py_ssize_t idx, i, n, p, end
    cdef FieldSpec f
    cdef FieldSpec alt
    cdef bint have
    if kind < 100:
        if h.cons:
            if ctx.ber and _is_string_tag(kind):
                _decode_ber_segments(ctx, s, h)
                return 0
            _fail(f"{_expected_name(s)} must be primitive", h.start, "constructed-primitive")
        if ctx.ber and h.cls != CLS_UNIVERSAL:
            return _note_ber_form(ctx, kind, prim_value(kind, ctx.buf, h.cstart, h.cend, h.start, True), h)
        return check_primitive(kind, ctx.buf, h.cstart, h.cend, h.start, ctx.ber)
    if depth >= MAX_DEPTH:
        _fail(f"nesting deeper than {MAX_DEPTH} levels", h.start, "too-deep")
    if kind == K_SEQ and not ctx.ber:
        r = _validate_seq(ctx, s, h, depth, shallow)
        if r >= 0:
            return 0
    if kind == K_SEQ and not _needs_values(s):
        if not h.cons:
            _fail(f"{_expected_name(s)} must be constructed", h.start, "primitive-constructed")
        n = PyTuple_GET_SIZE(s.fields)
        p = h.cstart
        end = h.cend
        have = False
        for i in range(n):
            f = <FieldSpec>PyTuple_GET_ITEM(s.fields, i)
            if not have and p < end:
                read_header(ctx.buf, p, end, &ch, False)
                have = True
            if have and _matches(f.spec, &ch):
                _enter(ctx, <PyObject*>f.seg, 0)
                if f.allowed is not None:
                    _check_allowed(f, _decode(ctx, f.spec, &ch, depth + 1), ch.start)
                else:
                    _validate(ctx, f.spec, &ch, depth + 1, shallow)
                _leave(ctx)
                p = ch.cend
                have = False
                continue
            if not f.optional:
                _missing_field(s, f, f.spec, h, &ch, have)
        if have or p < end:
            _fail(f"{_expected_name(s)} has an unexpected element after its last field", p, "unexpected-tag")
        return 0
    if kind == K_SEQOF or kind == K_SETOF:
        if not h.cons:
            _fail(f"{_expected_name(s)} must be constructed", h.start, "primitive-constructed")
        p = h.cstart
        i = 0
        _enter(ctx, NULL, 0)
        while p < h.cend:
            if ctx.top <= MAX_PATH:
                ctx.idx[ctx.top - 1] = i
            read_header(ctx.buf, p, h.cend, &ch, False)
            if not _matches(s.inner, &ch):
                _unexpected(s.inner, &ch)
            _validate(ctx, s.inner, &ch, depth + 1, shallow)
            p = ch.cend
            i += 1
        _leave(ctx)
        if i < s.min_size or (s.max_size >= 0 and i > s.max_size):
            _fail(f"{_expected_name(s)} has {i} elements, outside its size constraint", h.start, "invalid-value")
        return 0
    if kind == K_EXPLICIT:
        if not h.cons:
            _fail(f"explicit tag {_expected_name(s)} must be constructed", h.start, "primitive-constructed")
        read_header(ctx.buf, h.cstart, h.cend, &ih, False)
        if ih.cend != h.cend:
            _fail("explicitly tagged value is followed by more data", ih.cend, "trailing-data")
        if not _matches(s.inner, &ih):
            _unexpected(s.inner, &ih)
        return _validate(ctx, s.inner, &ih, depth + 1, shallow)
    if kind == K_CHOICE:
        idx = _choice_index(s, h)
        if idx < 0:
            _unexpected(s, h)
        alt = <FieldSpec>PyTuple_GET_ITEM(s.fields, idx)
        _enter(ctx, <PyObject*>alt.seg, 0)
        # a name: the one walk first (it accepts only what the generic checks accept); the CHOICE's own leniency
        # (a certificate's name values, Spec.lenient_values) holds wherever the CHOICE is validated
        if not (s.rdn_pairs and not ctx.ber and _rdn_checked(ctx, h, depth + 1, shallow or s.lenient_values)):
            _validate(ctx, alt.spec, h, depth + 1, shallow or s.lenient_values)
        _leave(ctx)
        return 0
    if shallow and (kind == K_ANY or kind == K_ANYVAL):
        return _check_value_shallow(ctx, h, depth)   # string and time contents (and a constructed value's
                                                     # contents that do not parse) when read
    if kind == K_ANY:
        return _check_tree(ctx, h, depth)
    if kind == K_ANYVAL:
        if h.cls == CLS_UNIVERSAL and not h.cons and not _must_be_constructed(h.tag) and h.tag != T_EOC:
            return check_primitive(h.tag, ctx.buf, h.cstart, h.cend, h.start, ctx.ber)
        return _check_tree(ctx, h, depth)
    _decode(ctx, s, h, depth)
    return 0


cdef inline bint _is_rdn(Header* sh):
    # A RelativeDistinguishedName: a SET of at least one element.
    return sh.cls == CLS_UNIVERSAL and sh.cons and sh.tag == T_SET and sh.cstart < sh.cend


cdef inline bint _read_atv(cbuf buf, Py_ssize_t q, Py_ssize_t end, Header* ah, Header* th, Header* vh) except -1:
    # The AttributeTypeAndValue at q, its three headers read into ah, th, vh: True for a SEQUENCE of an OBJECT
    # IDENTIFIER and one value, nothing after it; False for any other shape. The one reading of an RDN's elements
    # for the walks over names (checks and pairs here, the RFC 4514 strings in _der_names.pxi).
    read_header(buf, q, end, ah, False)
    if ah.cls != CLS_UNIVERSAL or ah.tag != T_SEQUENCE or not ah.cons or ah.cstart == ah.cend:
        return False
    read_header(buf, ah.cstart, ah.cend, th, False)
    if th.cls != CLS_UNIVERSAL or th.tag != T_OID or th.cons or th.cend >= ah.cend:
        return False
    read_header(buf, th.cend, ah.cend, vh, False)
    return vh.cend == ah.cend


cdef list _rdn_pairs_checked(_Ctx* ctx, Header* h, int depth, list out=None):
    """One walk over a DER RDNSequence (``SEQUENCE OF SET SIZE (1..MAX) OF SEQUENCE { type OBJECT IDENTIFIER,
    value ANY }``) that makes the checks ``_validate`` makes for it and collects the (type, value) pairs, values as
    ``AnyValue`` decodes them. Returns None on anything irregular; the caller then runs the generic validation,
    which raises the exact error (offset and path) or accepts, and the pairs are built later from the bytes."""
    cdef Header sh, ah, th, vh
    cdef cbuf buf = ctx.buf
    cdef Py_ssize_t p, q
    if out is None:
        out = []
    if depth + 3 >= MAX_DEPTH or not h.cons or h.cls != CLS_UNIVERSAL or h.tag != T_SEQUENCE:
        return None
    try:
        p = h.cstart
        while p < h.cend:
            read_header(buf, p, h.cend, &sh, False)
            if not _is_rdn(&sh):
                return None
            q = sh.cstart
            while q < sh.cend:
                if not _read_atv(buf, q, sh.cend, &ah, &th, &vh):
                    return None
                if vh.cls == CLS_UNIVERSAL and not vh.cons and not _must_be_constructed(vh.tag) and vh.tag != T_EOC:
                    v = prim_value(vh.tag, buf, vh.cstart, vh.cend, vh.start, False)
                else:
                    _check_tree(ctx, &vh, depth + 3)
                    v = PyBytes_FromStringAndSize(<char*>buf + vh.start, vh.cend - vh.start)
                out.append((dec_oid(buf, th.cstart, th.cend, th.start), v))
                q = ah.cend
            p = sh.cend
    except DecodeError:
        return None
    return out


cdef bint _rdn_checked(_Ctx* ctx, Header* h, int depth, bint lenient=False):
    """``_rdn_pairs_checked`` without collecting the pairs: the same walk and the same checks, building no value
    where a check can do without one. False on anything irregular (the caller then runs the generic validation,
    which raises the exact error or accepts). ``lenient``: string and time contents are left to the read, as
    ``_check_tree`` leaves them (Spec.lenient_values: a certificate's names)."""
    cdef Header sh, ah, th, vh
    cdef cbuf buf = ctx.buf
    cdef Py_ssize_t p, q
    if depth + 3 >= MAX_DEPTH or not h.cons or h.cls != CLS_UNIVERSAL or h.tag != T_SEQUENCE:
        return False
    try:
        p = h.cstart
        while p < h.cend:
            read_header(buf, p, h.cend, &sh, False)
            if not _is_rdn(&sh):
                return False
            q = sh.cstart
            while q < sh.cend:
                if not _read_atv(buf, q, sh.cend, &ah, &th, &vh):
                    return False
                check_oid(buf, th.cstart, th.cend, th.start, False)
                if vh.cls == CLS_UNIVERSAL and not vh.cons and not _must_be_constructed(vh.tag) and vh.tag != T_EOC:
                    if not (lenient and (_is_text_tag(vh.tag) or vh.tag == T_UTC_TIME
                                         or vh.tag == T_GENERALIZED_TIME)):
                        check_primitive(vh.tag, buf, vh.cstart, vh.cend, vh.start, False)
                else:
                    _check_tree(ctx, &vh, depth + 3)
                q = ah.cend
            p = sh.cend
    except DecodeError:
        return False
    return True


cdef class RdnPairs:
    """Attribute descriptor: ``rdn_pairs_of(obj)`` (``x509.Name.attributes``) without a Python-level call."""

    def __get__(self, obj, objtype):
        if obj is None:
            return self
        if not isinstance(obj, ChoiceModel):
            raise TypeError(f"{type(obj).__name__} is not a CHOICE model")
        return _name_pairs(<ChoiceModel>obj)


cdef object _name_pairs(ChoiceModel name):
    # The pairs collected while decoding; else one walk over the bytes of a name not built yet; else the models.
    # A decoded name's pairs come as a NameAttributes list that remembers the name (_der_names.pxi).
    cdef _Ctx ctx
    cdef Header h
    cdef list out
    if name._pairs is not None:
        return _name_attributes(name._pairs, name)
    if name._src is not None and name._lazy:
        ctx.src = <PyObject*>name._src
        ctx.buf = <cbuf>PyBytes_AS_STRING(name._src)
        ctx.ber = name._ber
        ctx.top = 0
        ctx.fixes = 0
        read_header(ctx.buf, name._start, name._end, &h, False)
        # collected straight into the list handed out (a NameAttributes), no copy
        attrs = <NameAttributes>_new_model(<PyObject*>NameAttributes)
        if _rdn_pairs_checked(&ctx, &h, 1, attrs) is not None:
            attrs.source = name
            return attrs
    out = rdn_pairs(name.value)
    return out if name._src is None else _name_attributes(out, name)


def rdn_pairs_of(ChoiceModel name):
    """``[(type, value), ...]`` of every attribute of a decoded Name (CHOICE of an RDN sequence), read straight from
    its bytes when it has them (no intermediate objects); values as ``AnyValue`` decodes them."""
    return _name_pairs(name)


cdef object _decode_ber_segments(_Ctx* ctx, Spec s, Header* h):
    # BER only: a string type under an IMPLICIT tag arrived constructed (OpenSSL streams EnvelopedData's
    # ``[0] IMPLICIT OCTET STRING`` so). The schema-less normalisation cannot know the type behind the tag; here
    # the segments (primitive OCTET STRINGs, or BIT STRINGs for a BIT STRING) are joined.
    cdef Header ch
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t seg_tag = T_BIT_STRING if s.kind == T_BIT_STRING else T_OCTET_STRING
    cdef list parts = []
    cdef bytes joined
    cdef int unused = 0
    while p < h.cend:
        read_header(ctx.buf, p, h.cend, &ch, False)
        if ch.cls != CLS_UNIVERSAL or ch.tag != seg_tag or ch.cons:
            _fail(f"segment of a constructed string must be {tag_name(0, seg_tag, False)}", ch.start,
                  "unexpected-tag")
        if seg_tag == T_BIT_STRING:
            if ch.cend == ch.cstart or (ctx.buf[ch.cstart] != 0 and ch.cend != h.cend):
                _fail("only the last segment of a constructed BIT STRING may have unused bits", ch.start,
                      "invalid-bit-string")
            unused = ctx.buf[ch.cstart]
            parts.append(PyBytes_FromStringAndSize(<char*>ctx.buf + ch.cstart + 1, ch.cend - ch.cstart - 1))
        else:
            parts.append(PyBytes_FromStringAndSize(<char*>ctx.buf + ch.cstart, ch.cend - ch.cstart))
        p = ch.cend
    joined = b"".join(parts)
    ctx.fixes += 1
    if seg_tag == T_BIT_STRING:
        joined = bytes([unused]) + joined
    return prim_value(s.kind, <cbuf>PyBytes_AS_STRING(joined), 0, len(joined), h.start, True)


cdef inline bint _is_default(object v, object d):
    # BOOLEAN defaults (the common case) compare by identity; anything else by value.
    if type(v) is bool:
        return v is d
    return v == d


cdef _FPlan* _build_plan(Spec s) except NULL:
    cdef tuple fields = s.fields
    cdef Py_ssize_t n = PyTuple_GET_SIZE(fields)
    cdef Py_ssize_t i
    cdef FieldSpec f
    cdef Spec fs
    cdef _FPlan* plan = <_FPlan*>PyMem_Malloc((n if n > 0 else 1) * sizeof(_FPlan))
    if plan == NULL:
        raise MemoryError()
    for i in range(n):
        f = <FieldSpec>PyTuple_GET_ITEM(fields, i)
        fs = f.spec
        plan[i].field = <PyObject*>f
        plan[i].spec = <PyObject*>fs
        plan[i].seg = <PyObject*>f.seg
        plan[i].kind = fs.kind
        plan[i].tcls = fs.tcls if fs.tcls >= 0 and fs.kind != K_CHOICE else -1
        plan[i].tnum = fs.tnum
        plan[i].defined_by = f.defined_by if not f.contained else -1
        plan[i].optional = f.optional
        plan[i].has_default = f.has_default
        plan[i].contained = f.contained
        plan[i].has_allowed = f.allowed is not None
        plan[i].defer = f.lazy and fs.kind >= 100 and plan[i].defined_by < 0 and not f.has_default \
            and not f.contained and not plan[i].has_allowed
        plan[i].early = <PyObject*>f.early if plan[i].defer and f.early is not None else NULL
        plan[i].leaf = (fs.kind == T_OCTET_STRING or fs.kind == T_BIT_STRING) and not f.has_default \
            and plan[i].defined_by < 0 and not plan[i].has_allowed
    PyMem_Free(s._plan)
    s._plan = plan
    s._plan_of = fields
    return plan


cdef object _decode_seq(_Ctx* ctx, Spec s, Header* h, int depth):
    cdef Py_ssize_t n = PyTuple_GET_SIZE(s.fields)
    cdef _FPlan* plan = s._plan
    cdef _FPlan* fp
    cdef Model m
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t end = h.cend
    cdef bint have = False
    cdef bint hit
    cdef Header ch
    cdef Spec rs = None             # ANY DEFINED BY: the type the OID selects
    cdef object v
    cdef object t
    if not h.cons:
        _fail(f"{_expected_name(s)} must be constructed", h.start, "primitive-constructed")
    if plan == NULL or s._plan_of is not s.fields:
        plan = _build_plan(s)
    m = <Model>_new_model(<PyObject*>s.model)
    m._alloc(s.nslots)
    m._src = <bytes>ctx.src     # set first: deferred leaves refer to it
    while i < n:
        fp = &plan[i]
        if not have and p < end:
            read_header(ctx.buf, p, end, &ch, False)
            have = True
        if have:
            if fp.defined_by >= 0:
                rs = None
                t = m._get(fp.defined_by)
                t = (<FieldSpec>fp.field).registry.get(t) if t is not None else None
                if t is not None:
                    rs = _resolve_defined(<FieldSpec>fp.field, t)
                    if not _matches(rs, &ch):
                        _enter(ctx, fp.seg, 0)
                        _unexpected(rs, &ch)
            if fp.defined_by >= 0 and rs is not None:
                hit = True
            elif fp.tcls >= 0:
                hit = ch.cls == fp.tcls and ch.tag == fp.tnum
            else:
                hit = _matches(<Spec>fp.spec, &ch)
            if hit:
                _enter(ctx, fp.seg, 0)
                if fp.defined_by >= 0 and rs is not None:
                    v = _decode(ctx, rs, &ch, depth + 1)
                elif fp.leaf and not ch.cons and not ctx.ber and _leaf_fits(ch.cstart, ch.cend - ch.cstart):
                    # OCTET STRING / BIT STRING: checked now, built when first read.
                    if fp.kind == T_BIT_STRING:
                        check_bit_string(ctx.buf, ch.cstart, ch.cend, ch.start, False)
                    if fp.contained:
                        _decode_contained(ctx, <FieldSpec>fp.field, m, &ch, depth)
                    _leave(ctx)
                    m._p[i] = _leaf_mark(ch.cstart, ch.cend - ch.cstart, fp.kind == T_BIT_STRING)
                    p = ch.cend
                    have = False
                    i += 1
                    continue
                elif fp.defer and not ctx.ber and _leaf_fits(ch.start, ch.cend - ch.start):
                    # A lazy constructed field: checked now, built when first read. An early reader may check
                    # it by reading what it needs of it now (a request's usual extensionRequest).
                    if fp.early == NULL or not (<SingleAttributeList>fp.early)._take(m, &ch):
                        _validate(ctx, <Spec>fp.spec, &ch, depth + 1, False)
                    _leave(ctx)
                    m._p[i] = _tree_mark(ch.start, ch.cend - ch.start)
                    p = ch.cend
                    have = False
                    i += 1
                    continue
                elif fp.kind < 100 and not ch.cons:
                    # A universal primitive (possibly IMPLICIT-tagged): decode it in place.
                    v = prim_value(fp.kind, ctx.buf, ch.cstart, ch.cend, ch.start, ctx.ber)
                    if ctx.ber:
                        _note_ber_form(ctx, fp.kind, v, &ch)
                else:
                    v = _decode(ctx, <Spec>fp.spec, &ch, depth + 1)
                if fp.has_allowed:
                    _check_allowed(<FieldSpec>fp.field, v, ch.start)
                if fp.has_default and _is_default(v, (<FieldSpec>fp.field).default):
                    if not ctx.ber:
                        _fail(f"{(<FieldSpec>fp.field).name} is encoded although it equals its DEFAULT", ch.start,
                              "default-encoded")
                    ctx.fixes += 1
                if fp.contained:
                    _decode_contained(ctx, <FieldSpec>fp.field, m, &ch, depth)
                _leave(ctx)
                m._put(i, v)
                p = ch.cend
                have = False
                i += 1
                continue
        if fp.has_default:
            m._put(i, (<FieldSpec>fp.field).default)
        elif not fp.optional:
            _missing_field(s, <FieldSpec>fp.field, <Spec>fp.spec, h, &ch, have)
        i += 1
    if have or p < end:
        _fail(f"{_expected_name(s)} has an unexpected element after its last field", p, "unexpected-tag")
    m._start = h.start
    m._cstart = h.cstart
    m._end = h.cend
    m._ber = ctx.ber
    return m


cdef inline Spec _registered_spec(FieldSpec f, object t):
    # The spec of a registry type, cached per field by the type object (``t._asn1_spec`` is an attribute lookup).
    cdef Spec r
    cdef PyObject* hit
    if f._specs is None:
        f._specs = {}
    hit = PyDict_GetItem(f._specs, t)
    if hit != NULL:
        return <Spec>hit
    r = _as_spec(t)
    f._specs[t] = r
    return r


cdef int _decode_contained(_Ctx* ctx, FieldSpec f, Model m, Header* h, int depth) except -1:
    # OCTET STRING CONTAINING: decode the content in place (offsets stay those of the whole input).
    cdef Header ih
    cdef object t = m._get(f.defined_by)
    cdef Spec cs
    t = f.registry.get(t) if t is not None else None
    if t is None:
        return 0
    cs = _registered_spec(f, t)
    read_header(ctx.buf, h.cstart, h.cend, &ih, False)
    if not _matches(cs, &ih):
        _unexpected(cs, &ih)
    v = _decode(ctx, cs, &ih, depth + 1)
    if ih.cend != h.cend:
        _fail("contained value is followed by more data", ih.cend, "trailing-data")
    if ctx.ber:
        # The schema-less normalisation of BER input does not look inside an OCTET STRING: a contained value
        # with BER-only forms (a BOOLEAN TRUE other than 0xFF, ...) is decoded again on its own, from its
        # normalised bytes, so that it re-encodes as DER as every ber=True instance does; the value around it is
        # then re-encoded (_renormalised) with that DER inside this OCTET STRING. Should the schema-less pass refuse
        # the contents (a raw value's charset or time, checked only when read as its type), the in-place reading
        # stands, as it does for strict DER.
        inner = PyBytes_FromStringAndSize(<char*>ctx.buf + h.cstart, h.cend - h.cstart)
        try:
            if normalize_ber(inner) != inner:
                v = _decode_top(cs, inner, True)
                ctx.fixes += 1
        except DecodeError:
            pass
    m._put(f.slot, v)
    return 0


cdef object _decode_seqof(_Ctx* ctx, Spec s, Header* h, int depth):
    # A ``lazy`` SEQUENCE OF builds its first elements as any does; past ``eager`` of them the rest are checked
    # here (the same checks, through _validate) and built when read (a LazyList, _der_seqof.pxi). ``eager`` is
    # SEQOF_EAGER, or one element per 128 bytes of contents up to SEQOF_EAGER_MAX: lists of elements of a real
    # size (a bundle of certificates) are built whole as before, long runs of tiny ones are not.
    cdef list out = []
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t end = h.cend
    cdef Py_ssize_t rest = -1
    cdef Py_ssize_t eager = -1
    cdef Header ch
    cdef Spec es = s.inner
    cdef Py_ssize_t i = 0
    if not h.cons:
        _fail(f"{_expected_name(s)} must be constructed", h.start, "primitive-constructed")
    if s.lazy:
        eager = min(max((end - p) >> 7, SEQOF_EAGER), SEQOF_EAGER_MAX)
    _enter(ctx, NULL, 0)
    while p < end:
        if ctx.top <= MAX_PATH:
            ctx.idx[ctx.top - 1] = i
        read_header(ctx.buf, p, end, &ch, False)
        if not _matches(es, &ch):
            _unexpected(es, &ch)
        if rest >= 0:
            _validate(ctx, es, &ch, depth + 1)
        elif i == eager:
            rest = p
            _validate(ctx, es, &ch, depth + 1)
        else:
            out.append(_decode(ctx, es, &ch, depth + 1))
        p = ch.cend
        i += 1
    _leave(ctx)
    if i < s.min_size or (s.max_size >= 0 and i > s.max_size):
        _fail(f"{_expected_name(s)} has {i} elements, outside its size constraint", h.start, "invalid-value")
    if rest >= 0:
        return _lazy_list(ctx, es, out, rest, end, i)
    return out


cdef object _decode_top(Spec s, object data, bint ber):
    cdef bytes src = as_bytes(data)
    cdef _Ctx ctx
    cdef Header h
    cdef Py_ssize_t n
    if ber:
        src = normalize_ber(src)
    n = PyBytes_GET_SIZE(src)
    ctx.src = <PyObject*>src
    ctx.buf = <cbuf>PyBytes_AS_STRING(src)
    ctx.ber = ber
    ctx.top = 0
    ctx.fixes = 0
    read_header(ctx.buf, 0, n, &h, False)
    if not _matches(s, &h):
        _unexpected(s, &h)
    try:
        v = _decode(&ctx, s, &h, 0)
    except DecodeError as e:
        _add_path(&ctx, e)
        raise
    if h.cend != n:
        _fail(f"{n - h.cend} bytes of trailing data after the value", h.cend, "trailing-data")
    if ctx.fixes:
        return _renormalised(s, v, src, &h)
    return v



def decode(spec, data, bint ber=False):
    """Decode ``data`` as ``spec`` (a Spec or a model class). Strict DER unless ``ber``."""
    return _decode_top(_as_spec(spec), data, ber)
