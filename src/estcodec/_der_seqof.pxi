# SEQUENCE OF / SET OF values whose elements are built when read.
#
# A SEQUENCE OF declared ``lazy=True`` (``SequenceOf(X, lazy=True)``) decodes its first elements as any list
# does (SEQOF_EAGER, or one per 128 bytes of its contents, at most SEQOF_EAGER_MAX: a list of elements of a real
# size is built whole); past that, the decoder keeps checking every element (structure, tags, DER rules, the size
# constraint: a malformed element still fails in ``from_der``, with its offset and ``[i]`` path) but builds none
# of them. The field then holds a ``LazyList``: the count, where the remaining elements lie in the source bytes,
# and the elements built so far. A long run of tiny elements (hostile input: thousands of 3-byte OIDs) then costs
# no Python object per element while decoding; memory stays a small multiple of the input.
#
# A LazyList reads as the list the field held before: len() is the count; iteration builds the elements one at
# a time (nothing kept) until the list has been built once; indexing, slicing, ==, repr, ``in`` build the whole
# list once and keep it. Re-encoding is byte-identical: the model holding the list encodes from its source bytes.

SEQOF_EAGER_ELEMENTS = SEQOF_EAGER
SEQOF_EAGER_MAX_ELEMENTS = SEQOF_EAGER_MAX


@cython.final
cdef class LazyList:
    """The value of a long ``lazy=True`` SEQUENCE OF / SET OF: checked while decoding, elements built when read.
    Behaves as a read-only list (len, iteration, indexing, slicing, ==, repr, ``in``, ``+``); ``list(x)`` gives
    a plain list."""
    cdef bytes _src
    cdef Spec _es            # the element type
    cdef Py_ssize_t _rest    # offset of the first element not built while decoding
    cdef Py_ssize_t _end     # end of the SEQUENCE OF's contents
    cdef Py_ssize_t _n       # element count
    cdef list _items         # the elements built while decoding; every element once built (``_full``)
    cdef bint _full
    cdef bint _ber

    def __init__(self):
        raise TypeError("LazyList values are made by the decoder")

    cdef object _element_at(self, Py_ssize_t* p):
        # Build the element at offset p[0] (checked while decoding) and move p[0] past it.
        cdef _Ctx ctx
        cdef Header h
        ctx.src = <PyObject*>self._src
        ctx.buf = <cbuf>PyBytes_AS_STRING(self._src)
        ctx.ber = self._ber
        ctx.top = 0
        ctx.fixes = 0
        read_header(ctx.buf, p[0], self._end, &h, False)
        try:
            v = _decode(&ctx, self._es, &h, 1)
        except DecodeError as e:
            _add_path(&ctx, e)
            raise
        p[0] = h.cend
        return v

    cdef list _list(self):
        # Every element, built once and kept.
        cdef list out
        cdef Py_ssize_t p
        if self._full:
            return self._items
        out = list(self._items)
        p = self._rest
        while p < self._end:
            out.append(self._element_at(&p))
        self._items = out
        self._full = True
        return out

    def __len__(self):
        return self._n

    def __bool__(self):
        return self._n > 0

    def __iter__(self):
        if self._full:
            return iter(self._items)
        return _LazyListIter._of(self)

    def __getitem__(self, index):
        cdef Py_ssize_t i
        if not self._full and type(index) is int:
            i = index
            if 0 <= i < PyList_GET_SIZE(self._items):
                return self._items[i]      # built while decoding: no need to build the rest
        return self._list()[index]

    def __contains__(self, value):
        return value in self._list()

    def __reversed__(self):
        return reversed(self._list())

    def index(self, value, *args):
        """The index of the first element equal to ``value`` (as ``list.index``)."""
        return self._list().index(value, *args)

    def count(self, value):
        """How many elements equal ``value`` (as ``list.count``)."""
        return self._list().count(value)

    def copy(self):
        """A plain list of the elements."""
        return list(self._list())

    def __richcmp__(self, other, int op):
        if isinstance(other, LazyList):
            other = (<LazyList>other)._list()
        return PyObject_RichCompare(self._list(), other, op)

    __hash__ = None

    def __add__(self, other):
        if isinstance(other, LazyList):
            other = (<LazyList>other)._list()
        return self._list() + other

    def __radd__(self, other):
        return other + self._list()

    def __mul__(self, n):
        return self._list() * n

    def __rmul__(self, n):
        return self._list() * n

    def __repr__(self):
        return repr(self._list())

    def __reduce__(self):
        return (list, (self._list(),))


@cython.final
cdef class _LazyListIter:
    """Iterates a LazyList not built yet: the elements built while decoding, then each further element built as
    it is reached (nothing kept)."""
    cdef LazyList _of_list
    cdef list _prefix        # the elements built while decoding (that list is never changed afterwards)
    cdef Py_ssize_t _i       # next index into _prefix
    cdef Py_ssize_t _p       # then: offset of the next element

    @staticmethod
    cdef _LazyListIter _of(LazyList l):
        cdef _LazyListIter it = _LazyListIter.__new__(_LazyListIter)
        it._of_list = l
        it._prefix = l._items
        it._i = 0
        it._p = l._rest
        return it

    def __iter__(self):
        return self

    def __next__(self):
        if self._i < PyList_GET_SIZE(self._prefix):
            v = <object>PyList_GET_ITEM(self._prefix, self._i)
            self._i += 1
            return v
        if self._p < self._of_list._end:
            return self._of_list._element_at(&self._p)
        raise StopIteration


cdef object _lazy_list(_Ctx* ctx, Spec es, list built, Py_ssize_t rest, Py_ssize_t end, Py_ssize_t n):
    cdef LazyList l = LazyList.__new__(LazyList)
    l._src = <bytes>ctx.src
    l._es = es
    l._rest = rest
    l._end = end
    l._n = n
    l._items = built
    l._full = False
    l._ber = ctx.ber
    return l


import collections.abc as _abc
_abc.Sequence.register(LazyList)
