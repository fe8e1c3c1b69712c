# The schema engine: specs compiled once per model class, walked here to decode DER into model instances and
# to encode instances back. Decoded instances keep the exact bytes they came from, so they re-encode
# byte-identically (also where a SET OF arrived unsorted); instances built from values are encoded canonically.

cdef extern from "Python.h":
    void PyObject_Free(void* p)
    unsigned long Py_TPFLAGS_HAVE_GC
    unsigned long Py_TPFLAGS_HEAPTYPE
    ctypedef void (*_freefunc)(void*)
    ctypedef PyObject* (*_allocfunc)(PyTypeObject*, Py_ssize_t)
    PyObject* PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t n)
    void* PyObject_Malloc(size_t n)
    PyObject* PyObject_Init(PyObject* op, PyTypeObject* t)
    PyObject* PyErr_NoMemory()

    ctypedef struct _TypeSlots "PyTypeObject":
        Py_ssize_t tp_basicsize
        unsigned long tp_flags
        Py_ssize_t tp_dictoffset
        Py_ssize_t tp_weaklistoffset
        _allocfunc tp_alloc
        _freefunc tp_free

cdef extern from *:
    """
    /* The AddressSanitizer build keeps no freed blocks, so that a use after free is seen. */
    #ifdef ESTCODEC_NO_FREELIST
    #define ESTCODEC_FREELIST_MAX 0
    #else
    #define ESTCODEC_FREELIST_MAX 2048
    #endif
    """
    const Py_ssize_t FREELIST_MAX "ESTCODEC_FREELIST_MAX"


def _untracked_instances(cls):
    """Make instances of the model class ``cls`` plain (non-GC) objects: no GC header, never tracked.

    Every class statement makes a GC type, because a heap type's instances could in general be part of a
    cycle. A ``gc=False`` model has no ``__dict__`` or ``__weakref__`` and holds decoded values that cannot
    form cycles, so the flag is cleared before any instance exists; CPython's subtype_dealloc has a path for
    heap types without GC. This saves the GC link, the track/untrack pair and the GC part of deallocation for
    each of the many small instances a decode makes."""
    cdef _TypeSlots* t
    if not isinstance(cls, type) or not issubclass(cls, (Model, ChoiceModel)):
        raise TypeError(f"{cls!r} is not a model class")
    t = <_TypeSlots*><PyObject*>cls
    if not (t.tp_flags & Py_TPFLAGS_HEAPTYPE) or t.tp_dictoffset != 0 or t.tp_weaklistoffset != 0:
        raise TypeError(f"{cls.__name__}: instances have a __dict__ or __weakref__; give it __slots__ = ()")
    # Python 3.11+ flags for a dict/weakref kept before the object header: a model with __slots__ = () has none.
    if t.tp_flags & ((1 << 3) | (1 << 4)):
        raise TypeError(f"{cls.__name__}: instances carry a managed __dict__ or __weakref__")
    if t.tp_alloc != PyType_GenericAlloc:
        raise TypeError(f"{cls.__name__}: unexpected allocator")
    t.tp_flags &= ~Py_TPFLAGS_HAVE_GC
    t.tp_free = PyObject_Free
    if issubclass(cls, Model) and t.tp_basicsize == (<_TypeSlots*><PyObject*>Model).tp_basicsize:
        t.tp_alloc = _model_alloc
        t.tp_free = _model_free
    elif issubclass(cls, ChoiceModel) and t.tp_basicsize == (<_TypeSlots*><PyObject*>ChoiceModel).tp_basicsize:
        t.tp_alloc = _choice_alloc
        t.tp_free = _choice_free


# Freed instances of gc=False models are kept for reuse: a decode makes many of them and drops them together.
# Every such class has its base's size (``__slots__ = ()``), so one list of blocks serves all SEQUENCE models and
# one all CHOICE models.
cdef struct _FreeList:
    void* blocks[2048]
    Py_ssize_t n


cdef _FreeList _free_models
cdef _FreeList _free_choices


cdef inline PyObject* _fl_alloc(_FreeList* fl, PyTypeObject* t) noexcept:
    cdef Py_ssize_t size = (<_TypeSlots*>t).tp_basicsize
    cdef void* mem
    if fl.n > 0:
        fl.n -= 1
        mem = fl.blocks[fl.n]
    else:
        mem = PyObject_Malloc(size)
        if mem == NULL:
            return PyErr_NoMemory()
    memset(mem, 0, size)
    return PyObject_Init(<PyObject*>mem, t)


cdef inline void _fl_free(_FreeList* fl, void* mem) noexcept:
    if fl.n < FREELIST_MAX:
        fl.blocks[fl.n] = mem
        fl.n += 1
    else:
        PyObject_Free(mem)


cdef PyObject* _model_alloc(PyTypeObject* t, Py_ssize_t nitems) noexcept:
    return _fl_alloc(&_free_models, t)


cdef void _model_free(void* mem) noexcept:
    _fl_free(&_free_models, mem)


cdef PyObject* _choice_alloc(PyTypeObject* t, Py_ssize_t nitems) noexcept:
    return _fl_alloc(&_free_choices, t)


cdef void _choice_free(void* mem) noexcept:
    _fl_free(&_free_choices, mem)


cdef enum:
    K_ANY = 200         # raw TLV bytes of whatever is there
    K_ANYVAL = 201      # decoded universal primitive value, else raw TLV bytes
    K_SEQ = 202         # a Model subclass
    K_SEQOF = 203
    K_SETOF = 204
    K_CHOICE = 205
    K_EXPLICIT = 206    # [tag] EXPLICIT wrapper around ``inner``
    K_NAMEDBITS = 207   # BIT STRING with named bits, decoded to a frozenset of names

KIND_ANY = K_ANY
KIND_ANYVAL = K_ANYVAL
KIND_SEQ = K_SEQ
KIND_SEQOF = K_SEQOF
KIND_SETOF = K_SETOF
KIND_CHOICE = K_CHOICE
KIND_EXPLICIT = K_EXPLICIT
KIND_NAMEDBITS = K_NAMEDBITS

DEF MAX_ENCODE_DEPTH = 100


cdef struct _FPlan:
    # One SEQUENCE component, flattened for the decoding loop: one contiguous array per SEQUENCE instead of a walk
    # over FieldSpec/Spec objects (whose reference counts would be written for every field of every instance).
    PyObject* field         # the FieldSpec (borrowed: the Spec's fields tuple keeps it)
    PyObject* spec          # its Spec (borrowed)
    PyObject* seg           # its path segment (borrowed)
    int kind
    int tcls                # tag class to match; -1: ask _matches (untagged CHOICE, ANY)
    Py_ssize_t tnum
    Py_ssize_t defined_by   # ANY DEFINED BY (not contained): index of the OID field, else -1
    bint optional
    bint has_default
    bint contained
    bint leaf               # OCTET STRING / BIT STRING without DEFAULT: may be deferred


cdef class Spec:
    """How one ASN.1 type is tagged and what it holds (built by ``estcodec.schema``). Treat a Spec as frozen once
    it has decoded something: the decoder keeps a flattened copy of a SEQUENCE's fields."""
    cdef public int kind
    cdef public int tcls            # expected tag class; -1 for untagged CHOICE / ANY
    cdef public Py_ssize_t tnum     # expected tag number
    cdef public Spec inner          # EXPLICIT: the wrapped type; SEQUENCE OF / SET OF: the element type
    cdef public object model        # SEQUENCE / CHOICE: the Python class
    cdef public tuple fields        # SEQUENCE: FieldSpecs in order; CHOICE: one FieldSpec per alternative
    cdef public tuple bit_names     # NAMEDBITS: names by bit position
    cdef public Py_ssize_t min_size
    cdef public Py_ssize_t max_size  # -1: unbounded
    cdef public bint transparent    # CHOICE decoded to the bare value (Time, DirectoryString)
    cdef public str type_name
    cdef public Py_ssize_t nslots   # SEQUENCE: length of the value tuple (fields, then contained values)
    cdef public bint untrack        # the model class was declared gc=False (its instances are not GC objects)
    cdef public bint lazy           # CHOICE: validated while decoding, its value built on first access
    cdef public bint rdn_pairs      # lazy CHOICE of an RDNSequence: the (type, value) pairs are collected while
                                    # validating, so reading them costs no second walk (x509.Name)
    cdef signed char _ctab[128]     # CHOICE: alternative selected by each one-byte identifier (-1: none)
    cdef tuple _ctab_of             # the fields tuple the table was built from (kept alive: compared by identity)
    cdef _FPlan* _plan              # SEQUENCE: the fields flattened (built on first decode)
    cdef tuple _plan_of             # the fields tuple the plan was built from (kept alive: compared by identity)
    cdef dict _nb_sets              # NAMEDBITS of at most 16 bits: the frozenset decoded for each bit mask
    cdef tuple _nb_of               # the bit_names tuple those sets were made from (compared by identity)

    def __dealloc__(self):
        PyMem_Free(self._plan)

    def __init__(self, int kind, int tcls=-1, Py_ssize_t tnum=0, *, Spec inner=None, model=None, tuple fields=(),
                 tuple bit_names=(), Py_ssize_t min_size=0, Py_ssize_t max_size=-1, bint transparent=False,
                 str type_name=""):
        self.kind = kind
        self.tcls = tcls
        self.tnum = tnum
        self.inner = inner
        self.model = model
        self.fields = fields
        self.bit_names = bit_names
        self.min_size = min_size
        self.max_size = max_size
        self.transparent = transparent
        self.type_name = type_name
        self.nslots = len(fields)

    def copy(self):
        cdef Spec s = Spec.__new__(Spec)
        s.kind = self.kind
        s.tcls = self.tcls
        s.tnum = self.tnum
        s.inner = self.inner
        s.model = self.model
        s.fields = self.fields
        s.bit_names = self.bit_names
        s.min_size = self.min_size
        s.max_size = self.max_size
        s.transparent = self.transparent
        s.type_name = self.type_name
        s.nslots = self.nslots
        s.untrack = self.untrack
        s.lazy = self.lazy
        s.rdn_pairs = self.rdn_pairs
        return s

    def __repr__(self):
        return f"<Spec {self.type_name} kind={self.kind} tag=({self.tcls},{self.tnum})>"


cdef class FieldSpec:
    """One component of a SEQUENCE, or one alternative of a CHOICE."""
    cdef public str name
    cdef public str seg
    cdef public Spec spec
    cdef public bint optional
    cdef public bint has_default
    cdef public object default
    cdef public Py_ssize_t defined_by   # index of the OID field an ANY DEFINED BY depends on, else -1
    cdef public dict registry           # OID -> Spec (or a type with ``_asn1_spec``)
    cdef public bint contained          # OCTET STRING CONTAINING the registry's type (decoded into ``slot``)
    cdef public Py_ssize_t slot         # where a contained value goes in the value tuple
    cdef dict _resolved                 # registry type -> effective Spec (with this field's own tagging)
    cdef dict _specs                    # registry type -> its Spec (contained values)

    def __init__(self, str name, Spec spec, *, bint optional=False, bint has_default=False, default=None,
                 Py_ssize_t defined_by=-1, dict registry=None, bint contained=False, Py_ssize_t slot=-1):
        self.name = name
        self.seg = "." + name
        self.spec = spec
        self.optional = optional
        self.has_default = has_default
        self.default = default
        self.defined_by = defined_by
        self.registry = registry
        self.contained = contained
        self.slot = slot

    def __repr__(self):
        return f"<FieldSpec {self.name}: {self.spec!r}>"


cdef object _MISSING = object()


cdef bint _null_is_value(Spec s):
    # None is a real value (not "absent") for a NULL and for an open type.
    while s.kind == K_EXPLICIT:
        s = s.inner
    return s.kind == T_NULL or s.kind == K_ANYVAL


cdef inline Spec _as_spec(object t):
    if isinstance(t, Spec):
        return <Spec>t
    return <Spec>t._asn1_spec


cdef Spec _resolve_defined(FieldSpec f, object t):
    """The spec for an ANY DEFINED BY field whose OID maps to type ``t``: ``t`` under the field's own EXPLICIT
    tags (an ANY cannot be tagged IMPLICIT)."""
    cdef Spec r
    cdef Spec outer
    if f._resolved is None:
        f._resolved = {}
    r = f._resolved.get(t)
    if r is not None:
        return r
    r = _as_spec(t)
    outer = f.spec
    if outer.kind == K_EXPLICIT:
        wrappers = []
        while outer.kind == K_EXPLICIT:
            wrappers.append(outer)
            outer = outer.inner
        for wr in reversed(wrappers):
            r = Spec(K_EXPLICIT, wr.tcls, wr.tnum, inner=r, type_name=wr.type_name)
    f._resolved[t] = r
    return r


# Deferred leaves. A decoded OCTET STRING or BIT STRING field is often never read (extnValue once its contents
# are decoded, a public key's bits): its slot then holds a mark instead of an object, an odd value no object
# pointer can have: bit 0 set, bit 1 set for a BIT STRING, bits 2-31 the content length, bits 32-63 the content
# offset in the source bytes. The value is validated while decoding and built on first read.
cdef inline bint _is_leaf(PyObject* p) noexcept:
    return (<size_t>p) & 1


cdef inline bint _leaf_fits(Py_ssize_t start, Py_ssize_t n) noexcept:
    return sizeof(size_t) >= 8 and start < 0xFFFFFFFF and n < 0x3FFFFFFF


cdef inline PyObject* _leaf_mark(Py_ssize_t start, Py_ssize_t n, bint bits) noexcept:
    return <PyObject*>((<size_t>start << 32) | (<size_t>n << 2) | (2 if bits else 0) | 1)


cdef inline Py_ssize_t _leaf_start(size_t mark) noexcept:
    return <Py_ssize_t>(mark >> 32)


cdef inline Py_ssize_t _leaf_len(size_t mark) noexcept:
    return <Py_ssize_t>((mark >> 2) & 0x3FFFFFFF)


# --- model base classes -----------------------------------------------------------------------------------

DEF INLINE_SLOTS = 10
DEF MAX_SLOTS = 256
MODEL_MAX_SLOTS = MAX_SLOTS


@cython.no_gc
cdef class Model:
    """Base of SEQUENCE models. Instances are immutable; decoded ones keep their source bytes.

    Field values live in an array inside the object (no separate tuple to allocate per instance); models with
    more than INLINE_SLOTS values get a separately allocated array."""
    cdef PyObject* _s[INLINE_SLOTS]
    cdef PyObject** _p
    cdef Py_ssize_t _n
    cdef bytes _src
    cdef Py_ssize_t _start
    cdef Py_ssize_t _cstart
    cdef Py_ssize_t _end
    cdef bint _ber       # decoded with ber=True (its bytes are read back the same way when unpickled)

    def __init__(self, **kwargs):
        cdef Spec spec = type(self)._asn1_spec
        cdef FieldSpec f
        cdef list values = []
        for f in spec.fields:
            v = kwargs.pop(f.name, _MISSING)
            if v is _MISSING or (v is None and not _null_is_value(f.spec)):
                v = None
                if f.has_default:
                    v = f.default
                elif not f.optional:
                    raise TypeError(f"{type(self).__name__}() missing the required field {f.name!r}")
            values.append(v)
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unknown fields: {', '.join(sorted(kwargs))}")
        while len(values) < spec.nslots:
            values.append(None)
        self._fill(values)
        self._src = None

    def __dealloc__(self):
        self._clear()

    @cython.final
    cdef void _clear(self) noexcept:
        cdef Py_ssize_t i
        if self._p != NULL:
            for i in range(self._n):
                if not _is_leaf(self._p[i]):
                    Py_XDECREF(self._p[i])
                self._p[i] = NULL
            if self._p != &self._s[0]:
                PyMem_Free(self._p)
        self._p = NULL
        self._n = 0

    @cython.final
    cdef int _alloc(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t i
        if self._p == NULL and n <= INLINE_SLOTS:
            # A new instance: its memory was zeroed when allocated, so the inline slots are empty already.
            self._p = &self._s[0]
            self._n = n
            return 0
        self._clear()
        if n > MAX_SLOTS:
            raise TypeError(f"a model holds at most {MAX_SLOTS} values")
        if n <= INLINE_SLOTS:
            self._p = &self._s[0]
        else:
            self._p = <PyObject**>PyMem_Malloc(n * sizeof(PyObject*))
            if self._p == NULL:
                raise MemoryError()
        for i in range(n):
            self._p[i] = NULL
        self._n = n
        return 0

    @cython.final
    cdef int _fill(self, list values) except -1:
        cdef Py_ssize_t i
        self._alloc(len(values))
        for i in range(self._n):
            self._put(i, values[i])
        return 0

    @cython.final
    cdef inline object _get(self, Py_ssize_t i):
        cdef PyObject* p
        if self._p == NULL:
            self._load()
        p = self._p[i]
        if p == NULL:
            return None
        if _is_leaf(p):
            return self._make_leaf(i)
        return <object>p

    @cython.final
    cdef int _load(self) except -1:
        # An unpickled instance holds only its bytes (see _model_from_pickle): decode them on the first read of a
        # field, and take over the decoded instance's values.
        cdef Model tmp
        cdef Py_ssize_t i
        if self._src is None:
            raise TypeError(f"{type(self).__name__} instance was made without values")
        tmp = <Model>_decode_top(<Spec>type(self)._asn1_spec, self._src, self._ber)
        if self._p != NULL:
            return 0  # loaded meanwhile (decoding can run other code through a garbage collection)
        if tmp._p == &tmp._s[0]:
            for i in range(tmp._n):
                self._s[i] = tmp._s[i]
                tmp._s[i] = NULL
            self._p = &self._s[0]
        else:
            self._p = tmp._p
        self._n = tmp._n
        tmp._p = NULL
        tmp._n = 0
        self._src = tmp._src  # deferred leaves refer to offsets in these bytes (BER input was normalised)
        self._start = tmp._start
        self._cstart = tmp._cstart
        self._end = tmp._end
        return 0

    @cython.final
    cdef object _make_leaf(self, Py_ssize_t i):
        # Build a deferred OCTET STRING / BIT STRING value from the source bytes, and keep it.
        cdef size_t mark = <size_t>self._p[i]
        cdef Py_ssize_t start = _leaf_start(mark)
        cdef Py_ssize_t n = _leaf_len(mark)
        cdef cbuf buf = <cbuf>PyBytes_AS_STRING(self._src)
        if mark & 2:
            v = dec_bit_string(buf, start, start + n, start, False)
        else:
            v = PyBytes_FromStringAndSize(<char*>buf + start, n)
        if not _is_leaf(self._p[i]):
            # built meanwhile by another thread (object creation can run a collection, and so other code)
            return <object>self._p[i]
        Py_INCREF(v)
        self._p[i] = <PyObject*>v
        return v

    @cython.final
    cdef inline void _put(self, Py_ssize_t i, object v) noexcept:
        # Only on an instance being filled (by __init__ or the decoder).
        Py_INCREF(v)
        if not _is_leaf(self._p[i]):
            Py_XDECREF(self._p[i])
        self._p[i] = <PyObject*>v

    @classmethod
    def from_der(cls, data, *, bint ber=False):
        """Decode ``data`` (strict DER; ``ber=True`` also accepts BER: the instance then re-encodes as DER, with the
        rules only the schema knows applied too: DEFAULT values left out, named bit lists without trailing zero bits,
        IMPLICIT-tagged strings primitive)."""
        return _decode_top(<Spec>cls._asn1_spec, data, ber)

    def to_der(self):
        """The DER encoding: the exact source bytes for a decoded instance."""
        if self._src is not None:
            return self._src[self._start:self._end]
        return encode(type(self)._asn1_spec, self)

    @property
    def raw(self):
        """The exact DER bytes this instance was decoded from, or None if it was built from values."""
        if self._src is None:
            return None
        return self._src[self._start:self._end]

    def replace(self, **changes):
        """A copy with some fields changed (encoded afresh from values)."""
        cdef Spec spec = type(self)._asn1_spec
        cdef FieldSpec f
        cdef Py_ssize_t i
        kwargs = {}
        for i, f in enumerate(spec.fields):
            kwargs[f.name] = self._get(i)
        for k in changes:
            if k not in kwargs:
                raise TypeError(f"{type(self).__name__} has no field {k!r}")
        kwargs.update(changes)
        return type(self)(**kwargs)

    def _values(self):
        if self._p == NULL:
            self._load()
        return tuple([self._get(i) for i in range(self._n)])

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.to_der() == other.to_der()

    def __hash__(self):
        return hash(self.to_der())

    def __repr__(self):
        cdef Spec spec = type(self)._asn1_spec
        cdef FieldSpec f
        parts = []
        for i, f in enumerate(spec.fields):
            v = self._get(i)
            if v is None and f.optional:
                continue
            parts.append(f"{f.name}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self):
        cdef bytes der
        if self._src is not None and self._start == 0 and self._end == PyBytes_GET_SIZE(self._src):
            der = self._src  # the whole buffer: no copy
        else:
            der = self.to_der()
        return (_model_from_pickle, (type(self), der, self._src is not None and self._ber))


@cython.no_gc
cdef class ChoiceModel:
    """Base of CHOICE models: ``.name`` says which alternative, ``.value`` holds it."""
    cdef Py_ssize_t _index
    cdef object _value
    cdef bytes _src
    cdef Py_ssize_t _start
    cdef Py_ssize_t _end
    cdef bint _lazy      # validated, value not built yet (``lazy`` CHOICE types)
    cdef bint _ber       # decoded with BER leniencies (needed to build the value later)
    cdef list _pairs     # rdn_pairs CHOICE types: the attribute pairs, collected while decoding

    cdef object _materialize(self):
        cdef _Ctx ctx
        cdef Header h
        cdef FieldSpec alt = <FieldSpec>(<Spec>type(self)._asn1_spec).fields[self._index]
        ctx.src = <PyObject*>self._src
        ctx.buf = <cbuf>PyBytes_AS_STRING(self._src)
        ctx.ber = self._ber
        ctx.top = 0
        ctx.fixes = 0
        read_header(ctx.buf, self._start, self._end, &h, False)
        try:
            self._value = _decode(&ctx, alt.spec, &h, 1)
        except DecodeError as e:
            _add_path(&ctx, e)
            raise
        self._lazy = False
        return self._value

    def __init__(self, name=None, value=None, **kwargs):
        cdef Spec spec = type(self)._asn1_spec
        cdef FieldSpec f
        cdef Py_ssize_t i
        if name is None:
            if len(kwargs) != 1:
                raise TypeError(f"{type(self).__name__}() takes exactly one alternative")
            name, value = next(iter(kwargs.items()))
        elif kwargs:
            raise TypeError(f"{type(self).__name__}() takes one alternative")
        for i, f in enumerate(spec.fields):
            if f.name == name:
                self._index = i
                self._value = value
                self._src = None
                return
        raise TypeError(f"{type(self).__name__} has no alternative {name!r}")

    @classmethod
    def from_der(cls, data, *, bint ber=False):
        return _decode_top(<Spec>cls._asn1_spec, data, ber)

    @property
    def name(self):
        return (<FieldSpec>(<Spec>type(self)._asn1_spec).fields[self._index]).name

    @property
    def value(self):
        if self._lazy:
            return self._materialize()
        return self._value

    @property
    def raw(self):
        if self._src is None:
            return None
        return self._src[self._start:self._end]

    def to_der(self):
        if self._src is not None:
            return self._src[self._start:self._end]
        return encode(type(self)._asn1_spec, self)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.to_der() == other.to_der()

    def __hash__(self):
        return hash(self.to_der())

    def __repr__(self):
        return f"{type(self).__name__}({self.name}={self.value!r})"

    def __reduce__(self):
        return (_model_from_pickle, (type(self), self.to_der(), self._src is not None and self._ber))


@cython.final
cdef class _Decoder:
    """Holds one model class's spec; its bound ``from_der`` is set on the class as ``from_der`` (a plain call,
    without the classmethod binding and the spec lookup of ``Model.from_der``)."""
    cdef Spec spec

    @cython.binding(False)
    def from_der(self, data, *, bint ber=False):
        """Decode ``data`` (strict DER; ``ber=True`` also accepts BER: the instance then re-encodes as DER, with the
        rules only the schema knows applied too: DEFAULT values left out, named bit lists without trailing zero bits,
        IMPLICIT-tagged strings primitive)."""
        return _decode_top(self.spec, data, ber)


def bound_decoder(Spec spec):
    """A ``from_der(data, *, ber=False)`` callable that decodes ``spec`` (estcodec.schema puts one on each model
    class that does not define its own)."""
    cdef _Decoder d = _Decoder.__new__(_Decoder)
    d.spec = spec
    return d.from_der


def is_bound_decoder(obj):
    return getattr(obj, "__self__", None).__class__ is _Decoder


def _from_der_for_pickle(cls, data, ber=False):
    # Instances decoded with ber=True may hold encodings only the schema knows are not DER (a DEFAULT value
    # present, trailing zero bits of a named bit list): they are read back as they were read first.
    # (What pickles made before _model_from_pickle existed call.)
    return cls.from_der(data, ber=ber)


def _model_from_pickle(cls, data, bint ber=False):
    """Unpickle a model cheaply: check the outer tag and length, keep the bytes, and decode them on the first read
    of a field (a SEQUENCE model) or of ``.value`` (a CHOICE model). The bytes were a valid encoding when pickled;
    bytes altered since then raise DecodeError at that first read. Models read with ber=True decode at once."""
    cdef bytes src = as_bytes(data)
    cdef Spec spec = <Spec>cls._asn1_spec
    cdef Header h
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    cdef Py_ssize_t idx
    cdef Model m
    cdef ChoiceModel cm
    if ber:
        return cls.from_der(src, ber=True)  # read back as it was read first, at once (rare)
    if spec.kind == K_SEQ and spec.model is cls:
        read_header(<cbuf>PyBytes_AS_STRING(src), 0, n, &h, False)
        if not _matches(spec, &h):
            _unexpected(spec, &h)
        if h.cend != n:
            _fail(f"{n - h.cend} bytes of trailing data after the value", h.cend, "trailing-data")
        m = <Model>_new_model(<PyObject*>cls)
        m._src = src
        m._start = 0
        m._cstart = h.cstart
        m._end = n
        return m
    if spec.kind == K_CHOICE and spec.model is cls and not spec.transparent:
        read_header(<cbuf>PyBytes_AS_STRING(src), 0, n, &h, False)
        idx = _choice_index(spec, &h)
        if idx < 0:
            _unexpected(spec, &h)
        if h.cend != n:
            _fail(f"{n - h.cend} bytes of trailing data after the value", h.cend, "trailing-data")
        cm = <ChoiceModel>_new_model(<PyObject*>cls)
        cm._index = idx
        cm._value = None
        cm._lazy = True
        cm._pairs = None
        cm._ber = False
        cm._src = src
        cm._start = 0
        cm._end = n
        return cm
    return cls.from_der(src, ber=ber)


cdef class FieldGetter:
    """Read-only attribute for field ``index`` of a Model."""
    cdef Py_ssize_t index
    cdef str name

    def __init__(self, Py_ssize_t index, str name):
        self.index = index
        self.name = name

    def __get__(self, obj, objtype):
        if obj is None:
            return self
        return (<Model>obj)._get(self.index)

    def __set__(self, obj, value):
        raise AttributeError(f"{type(obj).__name__} is immutable; use .replace({self.name}=...)")

    def __delete__(self, obj):
        raise AttributeError(f"{type(obj).__name__} is immutable; fields cannot be deleted")


cdef class FieldPath:
    """Read-only attribute that follows a path of field indexes through nested models: ``FieldPath(0, 5)`` is
    ``obj.<field 0>.<field 5>``, in C (a Python property chain costs several times more)."""
    cdef Py_ssize_t path[8]
    cdef PyObject* seen[8]      # per step, the last model type found there (a strong reference; skips the
                                # isinstance check next time)
    cdef Py_ssize_t n
    cdef object attr
    cdef bint none_as_list
    cdef bint raw
    cdef bint bits_data         # attr == "data" on a BitStringValue: read the field directly

    def __init__(self, *path, attr=None, bint none_as_list=False, bint raw=False):
        """``attr``: read that attribute of the value reached; ``none_as_list``: an absent value reads as a new
        empty list; ``raw``: the DER of the model reached (``to_der()``)."""
        cdef Py_ssize_t i
        if not 0 <= len(path) <= 8:
            raise ValueError("a FieldPath has up to 8 steps")
        self.n = len(path)
        for i in range(self.n):
            self.path[i] = path[i]
        self.attr = attr
        self.bits_data = attr == "data"
        self.none_as_list = none_as_list
        self.raw = raw

    def __get__(self, obj, objtype):
        cdef Py_ssize_t i
        cdef object cur = obj
        cdef Model m
        cdef PyObject* t
        cdef PyObject* old
        cdef size_t mark
        if obj is None:
            return self
        for i in range(self.n):
            if cur is None:
                break
            t = <PyObject*>Py_TYPE(cur)
            if t != self.seen[i]:
                if not isinstance(cur, Model):
                    raise TypeError(f"FieldPath step {i} reached a {type(cur).__name__}, not a model")
                Py_INCREF(<object>t)
                old = self.seen[i]
                self.seen[i] = t
                Py_XDECREF(old)
            if (<Model>cur)._p == NULL:
                (<Model>cur)._load()
            if self.path[i] >= (<Model>cur)._n:
                raise IndexError("FieldPath index out of range")
            m = <Model>cur
            mark = <size_t>m._p[self.path[i]]
            if self.bits_data and i == self.n - 1 and (mark & 3) == 3:
                # The octets of a deferred BIT STRING, without building its BitStringValue.
                return PyBytes_FromStringAndSize(PyBytes_AS_STRING(m._src) + _leaf_start(mark) + 1,
                                                 _leaf_len(mark) - 1)
            cur = m._get(self.path[i])
        if cur is None:
            return [] if self.none_as_list else None
        if self.raw:
            m = <Model>cur
            if m._src is not None:
                return PyBytes_FromStringAndSize(PyBytes_AS_STRING(m._src) + m._start, m._end - m._start)
            return m.to_der()
        if self.attr is not None:
            if self.bits_data and type(cur) is BitStringValue:
                return (<BitStringValue>cur).data
            return getattr(cur, self.attr)
        return cur

    def __set__(self, obj, value):
        raise AttributeError(f"{type(obj).__name__} is immutable")

    def __delete__(self, obj):
        raise AttributeError(f"{type(obj).__name__} is immutable")

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(8):
            Py_XDECREF(self.seen[i])
            self.seen[i] = NULL


cdef class ContainedGetter:
    """Reads the value decoded from an OCTET STRING CONTAINING field; for instances built from values (where the
    slot is empty) it calls ``fallback(obj)``."""
    cdef Py_ssize_t slot
    cdef object fallback

    def __init__(self, Py_ssize_t slot, fallback):
        self.slot = slot
        self.fallback = fallback

    def __get__(self, obj, objtype):
        if obj is None:
            return self
        v = (<Model>obj)._get(self.slot)
        if v is None:
            return self.fallback(obj)
        return v

    def __set__(self, obj, value):
        raise AttributeError(f"{type(obj).__name__} is immutable")

    def __delete__(self, obj):
        raise AttributeError(f"{type(obj).__name__} is immutable")


def rdn_pairs(list rdns):
    """``[(type, value), ...]`` of every attribute of an RDN sequence (a list of lists of two-field models)."""
    cdef list out = []
    cdef list rdn
    cdef Model atv
    for rdn in rdns:
        for atv in rdn:
            out.append((atv._get(0), atv._get(1)))
    return out


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
        pairs = _rdn_pairs_checked(ctx, h, depth + 1) if s.rdn_pairs and not ctx.ber else None
        if pairs is None:
            _validate(ctx, alt.spec, h, depth + 1)
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


cdef bint _needs_values(Spec s):
    # A SEQUENCE whose checks need decoded values (ANY DEFINED BY, DEFAULT, contained values) is validated by
    # decoding it.
    cdef FieldSpec f
    for f in s.fields:
        if f.defined_by >= 0 or f.has_default or f.contained:
            return True
    return False


cdef int _validate(_Ctx* ctx, Spec s, Header* h, int depth) except -1:
    """Every check ``_decode`` makes, without building values where that can be avoided."""
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
                _validate(ctx, f.spec, &ch, depth + 1)
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
            _validate(ctx, s.inner, &ch, depth + 1)
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
        return _validate(ctx, s.inner, &ih, depth + 1)
    if kind == K_CHOICE:
        idx = _choice_index(s, h)
        if idx < 0:
            _unexpected(s, h)
        alt = <FieldSpec>PyTuple_GET_ITEM(s.fields, idx)
        _enter(ctx, <PyObject*>alt.seg, 0)
        _validate(ctx, alt.spec, h, depth + 1)
        _leave(ctx)
        return 0
    if kind == K_ANY:
        return _check_tree(ctx, h, depth)
    if kind == K_ANYVAL:
        if h.cls == CLS_UNIVERSAL and not h.cons and not _must_be_constructed(h.tag) and h.tag != T_EOC:
            return check_primitive(h.tag, ctx.buf, h.cstart, h.cend, h.start, ctx.ber)
        return _check_tree(ctx, h, depth)
    _decode(ctx, s, h, depth)
    return 0


cdef list _rdn_pairs_checked(_Ctx* ctx, Header* h, int depth):
    """One walk over a DER RDNSequence (``SEQUENCE OF SET SIZE (1..MAX) OF SEQUENCE { type OBJECT IDENTIFIER,
    value ANY }``) that makes the checks ``_validate`` makes for it and collects the (type, value) pairs, values as
    ``AnyValue`` decodes them. Returns None on anything irregular; the caller then runs the generic validation,
    which raises the exact error (offset and path) or accepts, and the pairs are built later from the bytes."""
    cdef Header sh, ah, th, vh
    cdef cbuf buf = ctx.buf
    cdef Py_ssize_t p, q
    cdef list out = []
    if depth + 3 >= MAX_DEPTH or not h.cons or h.cls != CLS_UNIVERSAL or h.tag != T_SEQUENCE:
        return None
    try:
        p = h.cstart
        while p < h.cend:
            read_header(buf, p, h.cend, &sh, False)
            if sh.cls != CLS_UNIVERSAL or sh.tag != T_SET or not sh.cons or sh.cstart == sh.cend:
                return None
            q = sh.cstart
            while q < sh.cend:
                read_header(buf, q, sh.cend, &ah, False)
                if ah.cls != CLS_UNIVERSAL or ah.tag != T_SEQUENCE or not ah.cons or ah.cstart == ah.cend:
                    return None
                read_header(buf, ah.cstart, ah.cend, &th, False)
                if th.cls != CLS_UNIVERSAL or th.tag != T_OID or th.cons or th.cend == ah.cend:
                    return None
                read_header(buf, th.cend, ah.cend, &vh, False)
                if vh.cend != ah.cend:
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
        out = _rdn_pairs_checked(&ctx, &h, 1)
        if out is not None:
            return _name_attributes(out, name)
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
        plan[i].leaf = (fs.kind == T_OCTET_STRING or fs.kind == T_BIT_STRING) and not f.has_default \
            and plan[i].defined_by < 0
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
                elif fp.kind < 100 and not ch.cons:
                    # A universal primitive (possibly IMPLICIT-tagged): decode it in place.
                    v = prim_value(fp.kind, ctx.buf, ch.cstart, ch.cend, ch.start, ctx.ber)
                    if ctx.ber:
                        _note_ber_form(ctx, fp.kind, v, &ch)
                else:
                    v = _decode(ctx, <Spec>fp.spec, &ch, depth + 1)
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
    m._put(f.slot, v)
    return 0


cdef object _decode_seqof(_Ctx* ctx, Spec s, Header* h, int depth):
    cdef list out = []
    cdef Py_ssize_t p = h.cstart
    cdef Py_ssize_t end = h.cend
    cdef Header ch
    cdef Spec es = s.inner
    cdef Py_ssize_t i = 0
    if not h.cons:
        _fail(f"{_expected_name(s)} must be constructed", h.start, "primitive-constructed")
    _enter(ctx, NULL, 0)
    while p < end:
        if ctx.top <= MAX_PATH:
            ctx.idx[ctx.top - 1] = i
        read_header(ctx.buf, p, end, &ch, False)
        if not _matches(es, &ch):
            _unexpected(es, &ch)
        out.append(_decode(ctx, es, &ch, depth + 1))
        p = ch.cend
        i += 1
    _leave(ctx)
    if i < s.min_size or (s.max_size >= 0 and i > s.max_size):
        _fail(f"{_expected_name(s)} has {i} elements, outside its size constraint", h.start, "invalid-value")
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
        p = h.cstart
        k = 0
        while p < h.cend:
            read_header(buf, p, h.cend, &ch, False)
            _reencode(w, s.inner, v[k], buf, &ch, depth + 1)
            p = ch.cend
            k += 1
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
                    t = f.registry.get(m._get(f.defined_by))
                    cs = _registered_spec(f, t)
                    read_header(buf, ch.cstart, ch.cend, &ih, False)
                    cmark = w.length
                    _reencode(w, cs, cv, buf, &ih, depth + 1)
                    w.close_tlv(cmark, fs.tcls, False, fs.tnum)
                else:
                    _reencode(w, fs, v, buf, &ch, depth + 1)
                p = ch.cend
                have = False
        i += 1
    return w.close_tlv(mark, s.tcls, True, s.tnum)


def decode(spec, data, bint ber=False):
    """Decode ``data`` as ``spec`` (a Spec or a model class). Strict DER unless ``ber``."""
    return _decode_top(_as_spec(spec), data, ber)


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



