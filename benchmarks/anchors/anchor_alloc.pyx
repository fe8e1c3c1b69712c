# cython: language_level=3, boundscheck=False, wraparound=False
"""Probe: what one decoded object costs to create and free, by kind of object.

Schema models are Python subclasses of a cdef base class; the hand-written anchors use cdef classes. This
measures the difference alone (no decoding): ``make_static(n)`` creates and drops ``n`` instances of a cdef
class named at compile time, as the anchors do; ``make(cls, n)`` does the same for a class given at run time
(the cdef class itself or a Python subclass of it, as a schema engine must), filling one field as a decoder
would.

Benchmark code only: compiled at benchmark time into benchmarks/_build, never shipped.
"""
from cpython.object cimport PyObject, PyTypeObject

cdef tuple _EMPTY = ()


cdef class Base:
    cdef public object a
    cdef public object b
    cdef public object c


def make(type cls, Py_ssize_t n):
    cdef Py_ssize_t i
    cdef Base x
    if not issubclass(cls, Base):
        raise TypeError("cls must be Base or a subclass")
    cdef PyTypeObject* t = <PyTypeObject*>cls
    for i in range(n):
        x = <Base>t.tp_new(cls, <PyObject*>_EMPTY, NULL)  # the type's own tp_new, called directly
        x.a = None
    return n


def make_static(Py_ssize_t n):
    """The anchors' way: the class is known when compiling, so Cython calls its tp_new directly."""
    cdef Py_ssize_t i
    cdef Base x
    for i in range(n):
        x = Base.__new__(Base)
        x.a = None
    return n


def make_tuples(Py_ssize_t n):
    cdef Py_ssize_t i
    cdef object t
    for i in range(n):
        t = (None, None, i)
    return n
