# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Anchor (c): a hand-written decoder of the X.509 certificate fields a user reads (issue 3's reference).

It produces cdef-class objects (``T.__new__(T)``, direct field assignment) holding: serial number (int),
issuer and subject as lists of (OID, value) pairs in order, notBefore/notAfter as aware UTC datetimes made
through the PyDateTime C API, the public key algorithm OID, the extensions (OID, critical, raw value, and for
basicConstraints, keyUsage, subject/authority key identifiers, extendedKeyUsage and subjectAltName a decoded
value), the signature algorithm OID, the signature bytes and the signed bytes (a slice of the input).

Checks: every read bounds-checked, exact tags where the structure fixes them, definite minimal lengths,
BOOLEAN 0x00/0xFF with DEFAULT FALSE not encoded, minimal INTEGERs, well-formed OIDs, DER time forms, ASCII
for the ASCII string types, nothing after the end. It does less than a full schema decoder (it skips the
algorithm parameters, the key bits and the extensions it does not know, and checks no string charsets beyond
ASCII), so it is a floor for estcodec.x509, not its equivalent.

Benchmark code only: compiled at benchmark time into benchmarks/_build, never shipped.
"""
from libc.stdint cimport uint64_t
from libc.string cimport memcmp, memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeUTF8, PyUnicode_DecodeLatin1
from cpython.unicode cimport PyUnicode_DecodeUTF16
from cpython.ref cimport PyObject, Py_INCREF
from cpython.long cimport PyLong_FromLongLong
from cpython.datetime cimport import_datetime, datetime_new

import datetime as _dt

import_datetime()

cdef object UTC = _dt.timezone.utc


class AnchorDecodeError(ValueError):
    pass


include "_common.pxi"


cdef class Extension:
    cdef public str oid
    cdef public bint critical
    cdef public bytes value
    cdef public object parsed


cdef class Certificate:
    cdef public object serial_number
    cdef public list issuer
    cdef public list subject
    cdef public object not_before
    cdef public object not_after
    cdef public str key_algorithm_oid
    cdef public list extensions
    cdef public str signature_algorithm_oid
    cdef public bytes signature
    cdef public bytes tbs_der
    cdef public object raw


# ---------------------------------------------------------------------------------------------------------
# primitives


cdef object _int(const unsigned char* p, Py_ssize_t n, Py_ssize_t off):
    cdef long long v
    cdef Py_ssize_t i
    if n == 0:
        _fail("empty-integer", off)
    if n > 1 and ((p[0] == 0 and not (p[1] & 0x80)) or (p[0] == 0xFF and (p[1] & 0x80))):
        _fail("non-minimal-integer", off)
    if n <= 8:
        v = -1 if (p[0] & 0x80) else 0
        for i in range(n):
            v = (v << 8) | p[i]
        return PyLong_FromLongLong(v)
    return int.from_bytes(PyBytes_FromStringAndSize(<const char*>p, n), "big", signed=True)


cdef inline int _digits(const unsigned char* p, Py_ssize_t n, Py_ssize_t off) except -1:
    cdef int v = 0
    cdef Py_ssize_t i
    for i in range(n):
        if p[i] < 48 or p[i] > 57:
            _fail("invalid-time", off)
        v = v * 10 + (p[i] - 48)
    return v


cdef object _time(Cursor* c):
    cdef Py_ssize_t off = c.pos
    cdef unsigned char tag
    cdef Py_ssize_t n = _any(c, &tag)
    cdef const unsigned char* p = c.buf + c.pos
    cdef int year = 0
    c.pos += n
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        if n != 13 or p[12] != 90:
            _fail("invalid-time", off)
        year = _digits(p, 2, off)
        year += 1900 if year >= 50 else 2000
        p += 2
    elif tag == 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ (no fraction in certificates)
        if n != 15 or p[14] != 90:
            _fail("invalid-time", off)
        year = _digits(p, 4, off)
        p += 4
    else:
        _fail("unexpected-tag", off)
    try:
        return datetime_new(year, _digits(p, 2, off), _digits(p + 2, 2, off), _digits(p + 4, 2, off),
                            _digits(p + 6, 2, off), _digits(p + 8, 2, off), 0, UTC)
    except ValueError:
        _fail("invalid-time", off)


cdef object _string(unsigned char tag, const unsigned char* p, Py_ssize_t n, Py_ssize_t off):
    cdef int bo = 1
    if tag == 0x0C:
        return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
    if tag == 0x13 or tag == 0x16 or tag == 0x12 or tag == 0x1A:
        return PyUnicode_DecodeASCII(<const char*>p, n, NULL)
    if tag == 0x14:
        return PyUnicode_DecodeLatin1(<const char*>p, n, NULL)
    if tag == 0x1E:
        if n & 1:
            _fail("invalid-string", off)
        return PyUnicode_DecodeUTF16(<const char*>p, n, NULL, &bo)
    if tag == 0x1C:
        return PyBytes_FromStringAndSize(<const char*>p, n).decode("utf-32-be")
    return PyBytes_FromStringAndSize(<const char*>p, n)


cdef inline str _read_oid(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x06)
    cdef str s = _oid(c.buf + c.pos, n, c.pos)
    c.pos += n
    return s


cdef inline bytes _bytes(Cursor* c, Py_ssize_t n):
    cdef bytes b = PyBytes_FromStringAndSize(<const char*>c.buf + c.pos, n)
    c.pos += n
    return b


cdef str _algorithm(Cursor* c):
    """AlgorithmIdentifier: the OID; the parameters are skipped."""
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n
    cdef Cursor inner = Cursor(c.buf, c.pos, end)
    cdef str oid = _read_oid(&inner)
    c.pos = end
    return oid


cdef list _name(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n, set_end, atv_end
    cdef list out = []
    cdef str oid
    cdef unsigned char tag
    cdef Py_ssize_t off
    while c.pos < end:
        n = _expect(c, 0x31)
        set_end = c.pos + n
        if n == 0:
            _fail("invalid-value", c.pos)
        while c.pos < set_end:
            n = _expect(c, 0x30)
            atv_end = c.pos + n
            oid = _read_oid(c)
            off = c.pos
            n = _any(c, &tag)
            out.append((oid, _string(tag, c.buf + c.pos, n, off)))
            c.pos += n
            if c.pos != atv_end:
                _fail("unexpected-tag", c.pos)
    return out


# ---------------------------------------------------------------------------------------------------------
# extension values


cdef object _basic_constraints(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n
    cdef bint ca = False
    cdef object path = None
    if c.pos < end and c.buf[c.pos] == 0x01:
        n = _expect(c, 0x01)
        if n != 1 or c.buf[c.pos] != 0xFF:
            _fail("invalid-boolean", c.pos)
        ca = True
        c.pos += 1
    if c.pos < end:
        n = _expect(c, 0x02)
        path = _int(c.buf + c.pos, n, c.pos)
        c.pos += n
    if c.pos != end:
        _fail("unexpected-tag", c.pos)
    return (ca, path)


cdef object _key_usage(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x03)
    cdef const unsigned char* p = c.buf + c.pos
    cdef unsigned int bits = 0
    cdef Py_ssize_t i
    cdef int b
    if n == 0 or p[0] > 7 or (n == 1 and p[0] != 0) or n > 3:
        _fail("invalid-bit-string", c.pos)
    if n > 1 and (p[n - 1] & ((1 << p[0]) - 1)):
        _fail("invalid-bit-string", c.pos)
    for i in range(1, n):
        for b in range(8):
            if p[i] & (0x80 >> b):
                bits |= 1u << ((i - 1) * 8 + b)
    c.pos += n
    return bits


cdef object _octets(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x04)
    return _bytes(c, n)


cdef object _aki(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n
    cdef object key_id = None, serial = None
    if _at(c, 0x80):
        n = _expect(c, 0x80)
        key_id = _bytes(c, n)
    if _at(c, 0xA1):
        n = _expect(c, 0xA1)
        c.pos += n
    if _at(c, 0x82):
        n = _expect(c, 0x82)
        serial = _int(c.buf + c.pos, n, c.pos)
        c.pos += n
    if c.pos != end:
        _fail("unexpected-tag", c.pos)
    return (key_id, serial)


cdef object _eku(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n
    cdef list out = []
    while c.pos < end:
        out.append(_read_oid(c))
    return out


cdef object _general_names(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n
    cdef list out = []
    cdef unsigned char tag
    cdef int kind
    while c.pos < end:
        n = _any(c, &tag)
        kind = tag & 0x1F
        if tag == 0x81 or tag == 0x82 or tag == 0x86:  # rfc822Name, dNSName, URI: IA5String
            out.append((kind, PyUnicode_DecodeASCII(<const char*>c.buf + c.pos, n, NULL)))
        else:  # iPAddress and the constructed forms stay bytes
            out.append((kind, PyBytes_FromStringAndSize(<const char*>c.buf + c.pos, n)))
        c.pos += n
    return out


cdef object _parse_value(const unsigned char* oid, Py_ssize_t oid_len, const unsigned char* p, Py_ssize_t n,
                         Py_ssize_t off):
    """The decoded value of the extensions this anchor knows (id-ce 2.5.29.x), None for the others."""
    cdef Cursor c = Cursor(p, 0, n)
    cdef object v
    if oid_len != 3 or oid[0] != 0x55 or oid[1] != 0x1D:
        return None
    if oid[2] == 19:
        v = _basic_constraints(&c)
    elif oid[2] == 15:
        v = _key_usage(&c)
    elif oid[2] == 14:
        v = _octets(&c)
    elif oid[2] == 35:
        v = _aki(&c)
    elif oid[2] == 37:
        v = _eku(&c)
    elif oid[2] == 17:
        v = _general_names(&c)
    else:
        return None
    if c.pos != n:
        _fail("trailing-data", off + c.pos)
    return v


cdef list _extensions(Cursor* c):
    cdef Py_ssize_t n = _expect(c, 0x30)
    cdef Py_ssize_t end = c.pos + n, ext_end, oid_pos, oid_len
    cdef list out = []
    cdef Extension e
    while c.pos < end:
        n = _expect(c, 0x30)
        ext_end = c.pos + n
        e = Extension.__new__(Extension)
        oid_len = _expect(c, 0x06)
        oid_pos = c.pos
        e.oid = _oid(c.buf + oid_pos, oid_len, oid_pos)
        c.pos += oid_len
        if _at(c, 0x01):
            n = _expect(c, 0x01)
            if n != 1:
                _fail("invalid-boolean", c.pos)
            if c.buf[c.pos] == 0x00:
                _fail("default-encoded", c.pos)
            if c.buf[c.pos] != 0xFF:
                _fail("invalid-boolean", c.pos)
            e.critical = True
            c.pos += 1
        n = _expect(c, 0x04)
        e.value = PyBytes_FromStringAndSize(<const char*>c.buf + c.pos, n)
        e.parsed = _parse_value(c.buf + oid_pos, oid_len, c.buf + c.pos, n, c.pos)
        c.pos += n
        if c.pos != ext_end:
            _fail("unexpected-tag", c.pos)
        out.append(e)
    return out


# ---------------------------------------------------------------------------------------------------------


cdef Certificate _decode(bytes data):
    cdef Cursor c
    cdef Certificate cert = Certificate.__new__(Certificate)
    cdef Py_ssize_t n, tbs_start, tbs_end, end
    cdef const unsigned char* p
    c.buf = <const unsigned char*>PyBytes_AS_STRING(data)
    c.pos = 0
    c.end = PyBytes_GET_SIZE(data)
    n = _expect(&c, 0x30)
    if c.pos + n != c.end:
        _fail("trailing-data", c.pos + n)
    tbs_start = c.pos
    n = _expect(&c, 0x30)
    tbs_end = c.pos + n
    cert.tbs_der = PyBytes_FromStringAndSize(<const char*>c.buf + tbs_start, tbs_end - tbs_start)
    # TBSCertificate
    end = c.end
    c.end = tbs_end
    if _at(&c, 0xA0):
        n = _expect(&c, 0xA0)
        n = _expect(&c, 0x02)
        if n != 1 or c.buf[c.pos] > 2 or c.buf[c.pos] == 0:  # v2/v3; v1 must not be encoded
            _fail("invalid-value", c.pos)
        c.pos += 1
    n = _expect(&c, 0x02)
    cert.serial_number = _int(c.buf + c.pos, n, c.pos)
    c.pos += n
    _algorithm(&c)
    cert.issuer = _name(&c)
    n = _expect(&c, 0x30)
    cert.not_before = _time(&c)
    cert.not_after = _time(&c)
    cert.subject = _name(&c)
    n = _expect(&c, 0x30)  # SubjectPublicKeyInfo
    spki_end = c.pos + n
    cert.key_algorithm_oid = _algorithm(&c)
    n = _expect(&c, 0x03)
    c.pos += n
    if c.pos != spki_end:
        _fail("unexpected-tag", c.pos)
    if _at(&c, 0x81):
        c.pos += _expect(&c, 0x81)
    if _at(&c, 0x82):
        c.pos += _expect(&c, 0x82)
    if _at(&c, 0xA3):
        n = _expect(&c, 0xA3)
        cert.extensions = _extensions(&c)
    else:
        cert.extensions = []
    if c.pos != tbs_end:
        _fail("unexpected-tag", c.pos)
    c.end = end
    cert.signature_algorithm_oid = _algorithm(&c)
    n = _expect(&c, 0x03)
    p = c.buf + c.pos
    if n == 0 or p[0] != 0:
        _fail("invalid-bit-string", c.pos)
    cert.signature = PyBytes_FromStringAndSize(<const char*>p + 1, n - 1)
    c.pos += n
    if c.pos != c.end:
        _fail("unexpected-tag", c.pos)
    cert.raw = data
    return cert


def decode_certificate(bytes data not None):
    """Decode one DER certificate into a Certificate with the fields listed in the module docstring."""
    return _decode(data)
