# The schema engine's encoder: values to DER through the spec, and the re-encoding of BER input whose
# encodings only the schema knows are not DER.

cdef inline int _note_ber_form(_Ctx* ctx, int kind, object v, Header* h) except -1:
    # BER only: an IMPLICIT-tagged primitive whose content octets are not the ones DER gives its value (the
    # schema-less normalisation canonicalises universal primitives, not these) is counted for re-encoding.
    if ctx.ber and h.cls != CLS_UNIVERSAL and not _prim_canonical(kind, v, ctx.buf, h):
        ctx.fixes += 1
    return 0


cdef bint _prim_canonical(int kind, object v, cbuf buf, Header* h) except -1:
    # Whether a primitive's content octets are the ones DER gives its value.
    cdef Writer w = Writer()
    write_primitive_content(w, kind, v)
    return w.length == h.cend - h.cstart and memcmp(w.buf, buf + h.cstart, w.length) == 0


cdef object _renormalised(Spec s, object v, bytes src, Header* h):
    # BER input that used encodings only the schema knows are not DER: write the value as DER (the source bytes
    # where they are DER already, the values where not) and read that, so that the instances returned re-encode
    # as DER. Should the DER reading fail (it should not), the BER reading is returned as it is.
    cdef Writer w = Writer()
    try:
        _reencode(w, s, v, <cbuf>PyBytes_AS_STRING(src), h, 0)
        return _decode_top(s, w.getvalue(), False)
    except (DecodeError, EncodeError):
        return v


cdef int _reencode(Writer w, Spec s, object v, cbuf buf, Header* h, int depth) except -1:
    """Write the DER of ``v`` (of type ``s``), decoded from the (schema-less normalised) BER element ``h``: the
    source octets where they are DER, the value where the schema says they are not."""
    cdef int kind = s.kind
    cdef Py_ssize_t mark = w.length
    cdef Py_ssize_t p, k
    cdef Header ch
    cdef FieldSpec alt
    cdef ChoiceModel cm
    if depth > MAX_ENCODE_DEPTH:
        raise EncodeError("value nests too deeply")
    if kind < 100:
        if h.cons or (h.cls != CLS_UNIVERSAL and not _prim_canonical(kind, v, buf, h)):
            return _encode(w, s, v, depth)
        return w.put(buf + h.start, h.cend - h.start)
    if kind == K_NAMEDBITS:
        return _encode(w, s, v, depth)
    if kind == K_EXPLICIT:
        read_header(buf, h.cstart, h.cend, &ch, False)
        _reencode(w, s.inner, v, buf, &ch, depth + 1)
        return w.close_tlv(mark, s.tcls, True, s.tnum)
    if kind == K_SEQ:
        return _reencode_seq(w, s, <Model>v, buf, h, depth)
    if kind == K_SEQOF or kind == K_SETOF:
        # element by element, in the order they came (a SET OF keeps its order, as decoding does)
        # (iterated: a LazyList builds one element at a time)
        p = h.cstart
        items = iter(v)
        while p < h.cend:
            read_header(buf, p, h.cend, &ch, False)
            _reencode(w, s.inner, next(items), buf, &ch, depth + 1)
            p = ch.cend
        return w.close_tlv(mark, s.tcls, True, s.tnum)
    if kind == K_CHOICE:
        if s.transparent:
            alt = <FieldSpec>PyTuple_GET_ITEM(s.fields, _choice_index(s, h))
            return _reencode(w, alt.spec, v, buf, h, depth + 1)
        cm = <ChoiceModel>v
        alt = <FieldSpec>PyTuple_GET_ITEM(s.fields, cm._index)
        return _reencode(w, alt.spec, cm.value, buf, h, depth + 1)
    # ANY, AnyValue: the raw element (the schema-less normalisation made it DER)
    return w.put(buf + h.start, h.cend - h.start)


cdef int _reencode_seq(Writer w, Spec s, Model m, cbuf buf, Header* h, int depth) except -1:
    # Walk the source components as _decode_seq matched them.
    cdef Py_ssize_t mark = w.length
    cdef Py_ssize_t n = PyTuple_GET_SIZE(s.fields)
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t cmark
    cdef bint have = False
    cdef bint hit
    cdef Header ch, ih
    cdef FieldSpec f
    cdef Spec fs, cs
    cdef object t, cv
    while i < n:
        f = <FieldSpec>PyTuple_GET_ITEM(s.fields, i)
        fs = f.spec
        if not have and p < h.cend:
            read_header(buf, p, h.cend, &ch, False)
            have = True
        if have:
            if f.defined_by >= 0 and not f.contained:
                t = m._get(f.defined_by)
                t = f.registry.get(t) if t is not None else None
                if t is not None:
                    fs = _resolve_defined(f, t)
            hit = _matches(fs, &ch)
            if hit:
                v = m._get(i)
                if f.has_default and _is_default(v, f.default):
                    pass                                    # DER leaves a DEFAULT value out
                elif f.defined_by >= 0 and not f.contained and isinstance(v, (bytes, bytearray)):
                    w.put(buf + ch.start, ch.cend - ch.start)   # an ANY DEFINED BY kept raw
                elif f.contained and not ch.cons and m._get(f.slot) is not None:
                    # OCTET STRING CONTAINING: the contained value, re-encoded, inside this field's own tag
                    cv = m._get(f.slot)
                    cmark = w.length
                    if isinstance(cv, Model) and (<Model>cv)._src is not None and (
                            <cbuf>PyBytes_AS_STRING((<Model>cv)._src) != buf):
                        # decoded on its own from normalised BER (_decode_contained): its DER as it stands
                        w.put_bytes(cv.to_der())
                    else:
                        t = f.registry.get(m._get(f.defined_by))
                        cs = _registered_spec(f, t)
                        read_header(buf, ch.cstart, ch.cend, &ih, False)
                        _reencode(w, cs, cv, buf, &ih, depth + 1)
                    w.close_tlv(cmark, fs.tcls, False, fs.tnum)
                else:
                    _reencode(w, fs, v, buf, &ch, depth + 1)
                p = ch.cend
                have = False
        i += 1
    return w.close_tlv(mark, s.tcls, True, s.tnum)



# --- encoding ---------------------------------------------------------------------------------------------

cdef int _write_any(Writer w, object v) except -1:
    cdef Header h
    cdef bytes b
    if isinstance(v, (Model, ChoiceModel)):
        return w.put_bytes(v.to_der())
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        try:
            read_header(<cbuf>PyBytes_AS_STRING(b), 0, len(b), &h, False)
        except DecodeError as e:
            raise EncodeError(f"ANY value is not one DER element: {e.detail}") from None
        if h.cend != len(b):
            raise EncodeError("ANY value is not exactly one DER element")
        return w.put_bytes(b)
    if hasattr(v, "to_der"):
        return w.put_bytes(v.to_der())
    raise EncodeError(f"ANY needs DER bytes or a model, got {type(v).__name__}")


cdef int _write_anyval(Writer w, object v) except -1:
    cdef Py_ssize_t mark = w.length
    cdef Py_ssize_t tag
    if isinstance(v, (bytes, bytearray, memoryview, Model, ChoiceModel)):
        return _write_any(w, v)
    if v is None:
        tag = T_NULL
    elif type(v) is bool:
        tag = T_BOOLEAN
    elif isinstance(v, int):
        tag = T_INTEGER
    elif isinstance(v, str):
        tag = T_UTF8_STRING
    elif isinstance(v, _dt.datetime):
        tag = T_UTC_TIME if 1950 <= v.astimezone(_UTC).year < 2050 else T_GENERALIZED_TIME
    elif isinstance(v, BitStringValue):
        tag = T_BIT_STRING
    else:
        raise EncodeError(f"cannot encode a {type(v).__name__} as an open-type value")
    write_primitive_content(w, tag, v)
    return w.close_tlv(mark, CLS_UNIVERSAL, False, tag)


cdef int _write_named_bits(Writer w, Spec s, object v) except -1:
    cdef Py_ssize_t pos, top = -1
    cdef bytearray data
    if isinstance(v, BitStringValue):
        return write_bit_string_content(w, v)
    positions = []
    for name in v:
        if name in s.bit_names:
            pos = s.bit_names.index(name)
        elif isinstance(name, str) and name.startswith("bit") and name[3:].isdigit():
            pos = int(name[3:])
        else:
            raise EncodeError(f"unknown bit name {name!r}")
        positions.append(pos)
        if pos > top:
            top = pos
    if top < 0:
        return w.put_byte(0)
    data = bytearray(top // 8 + 1)
    for pos in positions:
        data[pos >> 3] |= 0x80 >> (pos & 7)
    w.put_byte(<unsigned char>(7 - top % 8))
    return w.put_bytes(bytes(data))


cdef int _encode(Writer w, Spec s, object v, int depth) except -1:
    cdef int kind = s.kind
    cdef Py_ssize_t mark = w.length
    cdef Py_ssize_t i, n, a
    cdef FieldSpec f
    cdef Model m = None
    cdef ChoiceModel cm
    cdef list bounds
    if depth > MAX_ENCODE_DEPTH:
        raise EncodeError("value nests too deeply")
    if kind < 100:
        write_primitive_content(w, kind, v)
        return w.close_tlv(mark, s.tcls, False, s.tnum)
    if kind == K_EXPLICIT:
        _encode(w, s.inner, v, depth + 1)
        return w.close_tlv(mark, s.tcls, True, s.tnum)
    if kind == K_SEQ:
        if not isinstance(v, s.model):
            if isinstance(v, dict):
                v = s.model(**v)
            else:
                raise EncodeError(f"expected a {s.model.__name__}, got {type(v).__name__}")
        m = <Model>v
        if m._src is not None:
            w.put(<cbuf>PyBytes_AS_STRING(m._src) + m._cstart, m._end - m._cstart)
        else:
            for i in range(PyTuple_GET_SIZE(s.fields)):
                f = <FieldSpec>PyTuple_GET_ITEM(s.fields, i)
                fv = m._get(i)
                if fv is None and (f.optional or f.has_default or not _null_is_value(f.spec)):
                    if f.optional or f.has_default:
                        continue
                    raise EncodeError(f"{s.model.__name__}.{f.name} is required")
                if f.has_default and type(fv) is type(f.default) and fv == f.default:
                    continue
                try:
                    if f.defined_by >= 0 and not f.contained:
                        t = m._get(f.defined_by)
                        t = f.registry.get(t) if t is not None else None
                        if t is None or isinstance(fv, (bytes, bytearray, memoryview)):
                            _encode(w, f.spec, fv, depth + 1)   # the raw value under the field's own tags
                        else:
                            _encode(w, _resolve_defined(f, t), fv, depth + 1)
                    else:
                        _encode(w, f.spec, fv, depth + 1)
                except EncodeError as e:
                    raise EncodeError(f"{s.model.__name__}.{f.name}: {e}") from None
        return w.close_tlv(mark, s.tcls, True, s.tnum)
    if kind == K_SEQOF or kind == K_SETOF:
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise EncodeError(f"{_expected_name(s)} needs a list, got {type(v).__name__}")
        items = list(v)
        n = len(items)
        if n < s.min_size or (s.max_size >= 0 and n > s.max_size):
            raise EncodeError(f"{_expected_name(s)} needs between {s.min_size} and {s.max_size} elements, got {n}")
        if kind == K_SEQOF or n < 2:
            for item in items:
                _encode(w, s.inner, item, depth + 1)
        else:
            bounds = []
            for item in items:
                a = w.length
                _encode(w, s.inner, item, depth + 1)
                bounds.append(w.slice(a, w.length))
            bounds.sort()
            w.truncate(mark)
            for b in bounds:
                w.put_bytes(b)
        return w.close_tlv(mark, s.tcls, True, s.tnum)
    if kind == K_CHOICE:
        if s.transparent:
            i = s.model._select(v)
            f = <FieldSpec>s.fields[i]
            return _encode(w, f.spec, v, depth + 1)
        if not isinstance(v, s.model):
            raise EncodeError(f"expected a {s.model.__name__}, got {type(v).__name__}")
        cm = <ChoiceModel>v
        if cm._src is not None:
            return w.put(<cbuf>PyBytes_AS_STRING(cm._src) + cm._start, cm._end - cm._start)
        f = <FieldSpec>s.fields[cm._index]
        return _encode(w, f.spec, cm._value, depth + 1)
    if kind == K_ANY:
        return _write_any(w, v)
    if kind == K_ANYVAL:
        return _write_anyval(w, v)
    if kind == K_NAMEDBITS:
        _write_named_bits(w, s, v)
        return w.close_tlv(mark, s.tcls, False, s.tnum)
    raise AssertionError(f"unknown spec kind {kind}")


def encode(spec, value):
    """Encode ``value`` as ``spec`` (a Spec or a model class) into DER."""
    cdef Writer w = Writer()
    _encode(w, _as_spec(spec), value, 0)
    return w.getvalue()

