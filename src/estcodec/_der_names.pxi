# X.509 names read straight from their DER: the RFC 4514 string (``x509.Name.rfc4514_string``) in one walk over
# the bytes, and the attribute pairs as a list that remembers its name (so that a name rebuilt from them keeps the
# values' encodings).
#
# The walk reads a name that was validated when it was decoded (strict DER only; BER-decoded names and names
# built from values go through the generic path in x509.py).

# RFC 4514 §2.4 (as cryptography applies it): these characters are escaped with a backslash wherever they are.
cdef unsigned char _RFC4514_SPECIAL[128]
for _k in range(128):
    _RFC4514_SPECIAL[_k] = 0
for _k in b',+"\\<>;\x00':
    _RFC4514_SPECIAL[_k] = 1
# and the octets the one-buffer writer copies as they are: ASCII but NUL and the characters above (a space too: a
# trailing one is escaped after the copy)
cdef unsigned char _RFC4514_PLAIN[256]
for _k in range(256):
    _RFC4514_PLAIN[_k] = 1 if 0 < _k < 128 and not _RFC4514_SPECIAL[_k] else 0


cdef class NameAttributes(list):
    """The ``(type, value)`` pairs of a decoded name (``x509.Name.attributes``): a list that remembers the name it
    was read from (``source``), so that ``Name.build`` gives the values it still holds their original encoding
    (a PrintableString stays PrintableString). A copy made by slicing or ``list()`` is a plain list."""
    cdef readonly object source

    def __reduce__(self):
        return (list, (list(self),))  # pickled as a plain list


cdef extern from "Python.h":
    ctypedef struct _ListItems "PyListObject":
        PyObject** ob_item
        Py_ssize_t allocated
    void Py_SET_SIZE(object o, Py_ssize_t n)
    void _incref_ptr "Py_INCREF"(PyObject* o)


cdef object _name_attributes(list pairs, ChoiceModel name):
    # A copy of ``pairs`` (the caller may edit it) that remembers ``name``: the new list's item array is allocated
    # at its exact size and filled directly (PyList_SetSlice's general path costs more than the copy itself).
    cdef NameAttributes out = <NameAttributes>_new_model(<PyObject*>NameAttributes)
    cdef Py_ssize_t i, n = PyList_GET_SIZE(pairs)
    cdef PyObject** items
    cdef PyObject* v
    if n > 0:
        items = <PyObject**>PyMem_Malloc(<size_t>n * sizeof(PyObject*))
        if items == NULL:
            raise MemoryError()
        for i in range(n):
            v = PyList_GET_ITEM(pairs, i)
            _incref_ptr(v)
            items[i] = v
        (<_ListItems*><PyObject*>out).ob_item = items
        (<_ListItems*><PyObject*>out).allocated = n
        Py_SET_SIZE(out, n)
    out.source = name
    return out


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


cdef extern from "Python.h":
    int PyUnicode_IS_ASCII(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

DEF RFC4514_BUF = 1024
DEF RFC4514_RDNS = 64

cdef const char* _HEX = b"0123456789abcdef"


cdef inline bint _ascii_text_tag(Py_ssize_t tag):
    # Text types whose ASCII content decodes to the same characters (UTF8String, PrintableString, IA5String, ...;
    # T.61 and the others are read as latin-1). BMPString and UniversalString are not octet-per-character.
    return _is_text_tag(tag) and tag != T_BMP_STRING and tag != T_UNIVERSAL_STRING


cdef Py_ssize_t _put_key(char* out, Py_ssize_t n, object key):
    # ``key=`` into out at n; -1 if it does not fit or is not ASCII.
    cdef Py_ssize_t k
    if not PyUnicode_IS_ASCII(key):
        return -1
    k = PyUnicode_GET_LENGTH(key)
    if n + k + 1 > RFC4514_BUF:
        return -1
    memcpy(out + n, PyUnicode_1BYTE_DATA(key), k)
    out[n + k] = 61  # '='
    return n + k + 1


cdef class _Rfc4514Keys:
    """``keys`` (OID -> short name) as the one-buffer writer reads it: for the attribute types under id-at (2.5.4.N
    with N < 128, one content octet: CN, O, OU, C, L, ST ...) the text ``KEY=`` indexed by N, so the usual names
    are written without decoding their OIDs or looking them up. Made once, with the method (rfc4514_method): the
    dict is read then."""
    cdef list _owned                # the bytes objects the pointers below point into
    cdef const char* at_key[128]
    cdef Py_ssize_t at_len[128]

    def __cinit__(self, dict keys):
        cdef Py_ssize_t i
        cdef bytes b
        self._owned = []
        for i in range(128):
            self.at_key[i] = NULL
            self.at_len[i] = 0
        for oid, key in keys.items():
            if type(oid) is not str or type(key) is not str or not oid.startswith("2.5.4.") or not key.isascii():
                continue
            arc = oid[6:]
            if not arc.isdigit() or (len(arc) > 1 and arc[0] == "0") or int(arc) >= 128:
                continue
            b = (key + "=").encode("ascii")
            self._owned.append(b)
            self.at_key[int(arc)] = PyBytes_AS_STRING(b)
            self.at_len[int(arc)] = len(b)


cdef object _rfc4514_ascii(ChoiceModel name, dict keys, Header* h, _Rfc4514Keys table):
    # The whole string written into one buffer, for names whose strings are all ASCII (almost all): no str per
    # value. None when anything else turns up (the caller then builds it value by value).
    cdef char out[RFC4514_BUF]
    cdef Py_ssize_t rdn_at[RFC4514_RDNS]
    cdef Py_ssize_t nrdn = 0, n = 0, p, q, i, j
    cdef Header sh, ah, th, vh
    cdef cbuf buf = <cbuf>PyBytes_AS_STRING(name._src)
    cdef unsigned char c
    cdef PyObject* k
    p = h.cstart
    while p < h.cend:
        if nrdn == RFC4514_RDNS:
            return None
        rdn_at[nrdn] = p
        nrdn += 1
        read_header(buf, p, h.cend, &sh, False)
        if not _is_rdn(&sh):
            return None
        p = sh.cend
    for i in range(nrdn - 1, -1, -1):
        read_header(buf, rdn_at[i], h.cend, &sh, False)
        if sh.cstart == sh.cend:
            return None
        if n >= RFC4514_BUF:
            return None
        if i != nrdn - 1:
            out[n] = 44  # ','
            n += 1
        q = sh.cstart
        while q < sh.cend:
            if n >= RFC4514_BUF:
                return None
            if q != sh.cstart:
                out[n] = 43  # '+'
                n += 1
            if not _read_atv(buf, q, sh.cend, &ah, &th, &vh):
                return None
            c = buf[th.cstart + 2] if th.cend - th.cstart == 3 else 0x80
            if c < 128 and table is not None and table.at_len[c] and buf[th.cstart] == 0x55 \
                    and buf[th.cstart + 1] == 4:
                # id-at N, named in the table: the key as it is (it fits: the buffer is checked just below)
                if n + table.at_len[c] > RFC4514_BUF:
                    return None
                memcpy(out + n, table.at_key[c], table.at_len[c])
                n += table.at_len[c]
            else:
                oid = dec_oid(buf, th.cstart, th.cend, th.start)
                k = PyDict_GetItem(keys, oid)
                n = _put_key(out, n, <object>k if k != NULL else oid)
                if n < 0:
                    return None
            if vh.cls == CLS_UNIVERSAL and not vh.cons and _ascii_text_tag(vh.tag):
                # escaped as escape_rfc4514 does; at most 3 octets per octet, plus a leading backslash
                if n + 3 * (vh.cend - vh.cstart) + 1 > RFC4514_BUF:
                    return None
                if vh.cend > vh.cstart:
                    c = buf[vh.cstart]
                    if c == 35 or (c == 32 and (vh.cend - vh.cstart > 1 or _RFC4514_SPECIAL[c])):  # '#', ' '
                        out[n] = 92
                        n += 1
                for j in range(vh.cstart, vh.cend):
                    c = buf[j]
                    if _RFC4514_PLAIN[c]:
                        out[n] = <char>c
                        n += 1
                    elif c >= 0x80:
                        return None
                    elif c == 0:
                        out[n] = 92
                        out[n + 1] = 48
                        out[n + 2] = 48
                        n += 3
                    else:
                        out[n] = 92
                        out[n + 1] = <char>c
                        n += 2
                if vh.cend > vh.cstart and buf[vh.cend - 1] == 32:     # a trailing space is escaped too
                    out[n - 1] = 92
                    out[n] = 32
                    n += 1
            elif vh.cls == CLS_UNIVERSAL and not vh.cons and (
                    vh.tag == T_OID or vh.tag == T_RELATIVE_OID or _is_text_tag(vh.tag)):
                return None  # read as a str that is not ASCII text here: the value-by-value path
            else:
                # '#' and the hex of the value's DER
                if n + 1 + 2 * (vh.cend - vh.start) > RFC4514_BUF:
                    return None
                out[n] = 35
                n += 1
                for j in range(vh.start, vh.cend):
                    out[n] = _HEX[buf[j] >> 4]
                    out[n + 1] = _HEX[buf[j] & 15]
                    n += 2
            q = ah.cend
    return _ascii_str(<cbuf>out, n)


def rfc4514_of(ChoiceModel name, dict keys):
    """The RFC 4514 string of a decoded name (a CHOICE of an RDNSequence) read from its DER: RDNs last to first
    joined by ``,``, the attributes of a multi-valued RDN by ``+``, each ``key=value`` with the key from ``keys``
    (OID -> short name) or the dotted OID, string values escaped (``escape_rfc4514``), other values (and values
    that are not universal primitives) as ``#`` and the hex of their DER. None for a name without DER bytes to
    walk (built from values, or decoded as BER)."""
    return _rfc4514_of(name, keys, None)


cdef object _rfc4514_of(ChoiceModel name, dict keys, _Rfc4514Keys table):
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
    fast = _rfc4514_ascii(name, keys, &h, table)
    if fast is not None:
        return fast
    rdns = []
    p = h.cstart
    while p < h.cend:
        read_header(buf, p, h.cend, &sh, False)
        if not _is_rdn(&sh):
            return None
        parts = []
        q = sh.cstart
        while q < sh.cend:
            if not _read_atv(buf, q, sh.cend, &ah, &th, &vh):
                return None
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


def rfc4514_method(dict keys, generic, on_error):
    """A method for a Name class: ``rfc4514_of(self, keys)`` read in C; ``generic(self)`` for a name that walk
    cannot read (built from values, decoded as BER), ``on_error(self)`` for one holding a value that raises
    ``DecodeError`` (a certificate name's values are checked when read)."""
    cdef _Rfc4514Keys table = _Rfc4514Keys(keys)

    def rfc4514_string(self):
        """RFC 4514 form: RDNs last to first, short names for the attributes in ``OID_NAMES`` (the ones
        ``cryptography`` uses) else the dotted OID, values escaped as ``cryptography`` escapes them, values that
        are not strings as ``#`` and the hex of their DER (RFC 4514 §2.4)."""
        try:
            s = _rfc4514_of(<ChoiceModel?>self, keys, table)
        except DecodeError:
            return on_error(self)
        return s if s is not None else generic(self)
    return rfc4514_string
