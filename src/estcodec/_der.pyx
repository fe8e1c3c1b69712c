# cython: language_level=3
"""The compiled core of estcodec.

One checked cursor reads TLVs; the universal primitives are decoded and validated here; an encoder writes
definite-length DER into a growable buffer; and the schema engine walks compiled specs to turn DER into model
instances and back. No OID meanings, no crypto, no I/O.

The module is split into parts that are textually included:

* ``_der_read.pxi``    -- TLV headers, the cursor, primitive decoders and validators
* ``_der_element.pxi`` -- the schema-less ``Element`` tree (``estcodec.der.parse``)
* ``_der_ber.pxi``     -- streaming BER to DER (``estcodec.der.normalize_ber``), no tree
* ``_der_write.pxi``   -- the encoder
* ``_der_spec.pxi``    -- specs compiled from models, the allocator of gc=False instances
* ``_der_model.pxi``   -- the model base classes, their descriptors, pickling
* ``_der_decode.pxi``  -- the schema engine's decoder (and its validation-only walk)
* ``_der_seqof.pxi``   -- SEQUENCE OF / SET OF values checked while decoding, elements built when read
* ``_der_encode.pxi``  -- the schema engine's encoder (and the DER rewrite of BER input)
* ``_der_lazy.pxi``    -- values checked when read (x509 extension values), elements decoded in place, and
  the offset index over a CRL's revoked entries
* ``_der_names.pxi``   -- X.509 names read from their DER (RFC 4514 strings, attribute lists)
"""
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_DecodeLatin1, PyUnicode_DecodeASCII, PyUnicode_New
from cpython.unicode cimport PyUnicode_1BYTE_DATA
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from cpython.list cimport PyList_New, PyList_SET_ITEM, PyList_GET_SIZE, PyList_GET_ITEM, PyList_SetSlice
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM, PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.object cimport PyObject, PyTypeObject, Py_TYPE, PyObject_RichCompare
from cpython.datetime cimport import_datetime, datetime_new
from libc.string cimport memcmp, memcpy, memmove, memset
from libc.stdint cimport uint64_t, int64_t, uint32_t

cdef extern from *:
    """
    /* PyDict_GetItem without its saving and restoring of the error state: the keys looked up in C here (str, int,
       type objects) hash and compare without raising, and no error is pending at those calls. */
    static CYTHON_INLINE PyObject* estcodec_dict_get(PyObject* d, PyObject* k) {
        PyObject* r = PyDict_GetItemWithError(d, k);
        if (r == NULL && PyErr_Occurred()) PyErr_Clear();
        return r;
    }

    /* Failure paths are cold: gcc then moves the code that builds error messages and tracebacks out of the hot
       functions (their .cold parts), so the paths taken on valid input are shorter and share fewer cache lines
       with code that never runs. These redeclare functions Cython generates (same signatures), named with the
       module's prefix (ESTCODEC_PFX: a module that includes this core under another name, a benchmark anchor,
       defines its own); a misspelt name would only declare an unused function. */
    #if defined(__GNUC__)
    #ifndef ESTCODEC_PFX
    #define ESTCODEC_PFX 8estcodec_4_der_
    #endif
    #define ESTCODEC_CAT3(a, b, c) a##b##c
    #define ESTCODEC_CAT3X(a, b, c) ESTCODEC_CAT3(a, b, c)
    #define ESTCODEC_NAMEX(kind, name) ESTCODEC_CAT3X(kind, ESTCODEC_PFX, name)
    struct ESTCODEC_NAMEX(__pyx_obj_, Spec);
    struct ESTCODEC_NAMEX(__pyx_t_, Header);
    static void __Pyx_AddTraceback(const char *, int, int, const char *) __attribute__((cold));
    static int ESTCODEC_NAMEX(__pyx_f_, _fail)(PyObject *, Py_ssize_t, PyObject *) __attribute__((cold));
    static int ESTCODEC_NAMEX(__pyx_f_, _unexpected)(struct ESTCODEC_NAMEX(__pyx_obj_, Spec) *,
                                                     struct ESTCODEC_NAMEX(__pyx_t_, Header) *) __attribute__((cold));
    #endif
    """
    PyObject* PyDict_GetItem "estcodec_dict_get"(object d, object k)

import datetime as _dt

from estcodec.errors import DecodeError, EncodeError

import_datetime()

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void* op)
    object _PyLong_FromByteArray(const unsigned char* data, size_t n, int little_endian, int is_signed)

cdef tuple _EMPTY_TUPLE = ()


cdef extern from "Python.h":
    ctypedef object (*_newfunc)(PyTypeObject*, PyObject*, PyObject*)
    ctypedef struct _TypeNew "PyTypeObject":
        _newfunc tp_new


cdef inline object _new_model(PyObject* cls):
    # Allocate through the type's tp_new directly (``Base.__new__(cls)`` would look ``__new__`` up by name), the
    # class held as a borrowed pointer (no reference count traffic on it).
    return (<_TypeNew*>cls).tp_new(<PyTypeObject*>cls, <PyObject*>_EMPTY_TUPLE, NULL)

cdef object _UTC = _dt.timezone.utc

# Tag classes, as the two high bits of the identifier octet.
cdef tuple _CLASS_NAMES = ("universal", "application", "context", "private")

# Nesting bound for both the Element parser and the schema engine.
cdef int MAX_DEPTH = 64

include "_der_read.pxi"
include "_der_write.pxi"
include "_der_element.pxi"
include "_der_ber.pxi"
include "_der_spec.pxi"
include "_der_model.pxi"
include "_der_decode.pxi"
include "_der_seqof.pxi"
include "_der_encode.pxi"
include "_der_lazy.pxi"
include "_der_names.pxi"
