# X.509 names read straight from their DER: the RFC 4514 string (``x509.Name.rfc4514_string``) in one walk over
# the bytes, and the string types of attribute values (a value whose string type is not the one ``Name.build``
# would choose for its attribute comes out as a str subclass that remembers it, so a name rebuilt from its values
# re-encodes identically).
#
# The walk reads a name that was validated when it was decoded (strict DER only; BER-decoded names and names
# built from values go through the generic path in x509.py).

# RFC 4514 §2.4 (as cryptography applies it): these characters are escaped with a backslash wherever they are.
cdef unsigned char _RFC4514_SPECIAL[128]
for _k in range(128):
    _RFC4514_SPECIAL[_k] = 0
for _k in b',+"\\<>;\x00':
    _RFC4514_SPECIAL[_k] = 1

# OID -> tag of the string type Name.build gives that attribute (absent: UTF8String), and tag -> str subclass
# carrying that string type; both set by x509.py through ``set_name_string_types``.
cdef dict _name_default_tags = {}
cdef dict _name_str_types = {}


def set_name_string_types(dict default_tags, dict str_types):
    """Register the string type ``Name.build`` gives each attribute OID (``{oid: tag}``, others UTF8String) and the
    str subclass for each string tag (``{tag: cls}``): decoded name values of another string type than their
    attribute's default come out as that subclass."""
    global _name_default_tags, _name_str_types
    _name_default_tags = dict(default_tags)
    _name_str_types = dict(str_types)


cdef inline object _typed_name_value(object oid, Py_ssize_t tag, object v):
    # ``v``: the str decoded from a string of type ``tag``, the value of attribute ``oid``.
    cdef PyObject* d
    cdef PyObject* t
    cdef Py_ssize_t want = T_UTF8_STRING
    if not _name_str_types:
        return v
    d = PyDict_GetItem(_name_default_tags, oid)
    if d != NULL:
        want = <Py_ssize_t><object>d
    if tag == want:
        return v
    t = PyDict_GetItem(_name_str_types, tag)
    if t == NULL:
        return v
    return (<object>t)(v)


def escape_rfc4514(str v):
    """An attribute value escaped for an RFC 4514 string, exactly as ``cryptography`` escapes it: ``, + " \\ < > ;``
    with a backslash, NUL as ``\\00``, a leading ``#`` or space (a lone space excepted) and a trailing space."""
    return _escape_rfc4514(v)


cdef str _escape_rfc4514(str v):
    cdef Py_ssize_t n = len(v)
    cdef Py_UCS4 c
    cdef bint plain = True
    cdef list out
    cdef str s
    if n == 0:
        return v
    for c in v:
        if c < 128 and _RFC4514_SPECIAL[c]:
            plain = False
            break
    c = v[0]
    if plain and c != u'#' and c != u' ' and v[n - 1] != u' ':
        return v
    out = []
    for c in v:
        if c == 0:
            out.append("\\00")
        elif c < 128 and _RFC4514_SPECIAL[c]:
            out.append("\\")
            out.append(c)
        else:
            out.append(c)
    s = "".join(out)
    if s[0] == u'#' or (s[0] == u' ' and len(s) > 1):
        s = "\\" + s
    if s[len(s) - 1] == u' ':
        s = s[:len(s) - 1] + "\\ "
    return s


def rfc4514_of(ChoiceModel name, dict keys):
    """The RFC 4514 string of a decoded name (a CHOICE of an RDNSequence) read from its DER: RDNs last to first
    joined by ``,``, the attributes of a multi-valued RDN by ``+``, each ``key=value`` with the key from ``keys``
    (OID -> short name) or the dotted OID, string values escaped (``escape_rfc4514``), other values (and values
    that are not universal primitives) as ``#`` and the hex of their DER. None for a name without DER bytes to
    walk (built from values, or decoded as BER)."""
    cdef Header h, sh, ah, th, vh
    cdef cbuf buf
    cdef Py_ssize_t p, q
    cdef list rdns, parts
    cdef PyObject* k
    if name._src is None or name._ber:
        return None
    buf = <cbuf>PyBytes_AS_STRING(name._src)
    read_header(buf, name._start, name._end, &h, False)
    if h.cls != CLS_UNIVERSAL or h.tag != T_SEQUENCE or not h.cons:
        return None
    rdns = []
    p = h.cstart
    while p < h.cend:
        read_header(buf, p, h.cend, &sh, False)
        parts = []
        q = sh.cstart
        while q < sh.cend:
            read_header(buf, q, sh.cend, &ah, False)
            read_header(buf, ah.cstart, ah.cend, &th, False)
            read_header(buf, th.cend, ah.cend, &vh, False)
            oid = dec_oid(buf, th.cstart, th.cend, th.start)
            k = PyDict_GetItem(keys, oid)
            key = <object>k if k != NULL else oid
            v = None
            if vh.cls == CLS_UNIVERSAL and not vh.cons and not _must_be_constructed(vh.tag) and vh.tag != T_EOC:
                v = prim_value(vh.tag, buf, vh.cstart, vh.cend, vh.start, False)
            if type(v) is str:
                parts.append(f"{key}={_escape_rfc4514(v)}")
            else:
                parts.append(f"{key}=#{PyBytes_FromStringAndSize(<char*>buf + vh.start, vh.cend - vh.start).hex()}")
            q = ah.cend
        if not parts:
            return None  # not an RDNSequence as x509.Name validates it: the generic path says what it is
        rdns.append(parts[0] if len(parts) == 1 else "+".join(parts))
        p = sh.cend
    rdns.reverse()
    return ",".join(rdns)
