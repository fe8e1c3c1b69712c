# Specs: how each model's ASN.1 type is tagged and what it holds (compiled once per class by estcodec.schema),
# the allocator of gc=False instances, and the marks of deferred leaves. The engine that walks specs is in
# _der_decode.pxi and _der_encode.pxi; the model base classes in _der_model.pxi.

cdef extern from "Python.h":
    void PyObject_Free(void* p)
    unsigned long Py_TPFLAGS_HAVE_GC
    unsigned long Py_TPFLAGS_HEAPTYPE
    ctypedef void (*_freefunc)(void*)
    ctypedef PyObject* (*_allocfunc)(PyTypeObject*, Py_ssize_t)
    ctypedef void (*_destructor "destructor")(PyObject*)
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
        _destructor tp_dealloc

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

cdef extern from *:
    """
    /* tp_dealloc of gc=False model classes: the base's dealloc (Model's or ChoiceModel's, set once below), then the
       reference the instance held on its heap type given back. CPython's subtype_dealloc does the same for these
       classes (no GC, no __dict__, no __weakref__) after a walk up the bases to find that dealloc. A finalizer
       given to the class after it was made (__del__ assigned later) is called as subtype_dealloc would. */
    static destructor estcodec_model_dealloc_base = NULL;
    static destructor estcodec_choice_dealloc_base = NULL;
    static void estcodec_model_dealloc(PyObject* o) {
        PyTypeObject* t = Py_TYPE(o);
        if (t->tp_finalize != NULL && PyObject_CallFinalizerFromDealloc(o) < 0)
            return;     /* resurrected by its finalizer */
        estcodec_model_dealloc_base(o);
        Py_DECREF(t);
    }
    static void estcodec_choice_dealloc(PyObject* o) {
        PyTypeObject* t = Py_TYPE(o);
        if (t->tp_finalize != NULL && PyObject_CallFinalizerFromDealloc(o) < 0)
            return;
        estcodec_choice_dealloc_base(o);
        Py_DECREF(t);
    }
    """
    _destructor _model_dealloc_base "estcodec_model_dealloc_base"
    _destructor _choice_dealloc_base "estcodec_choice_dealloc_base"
    void _model_dealloc "estcodec_model_dealloc"(PyObject* o)
    void _choice_dealloc "estcodec_choice_dealloc"(PyObject* o)


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
        _direct_dealloc(cls, <_TypeSlots*><PyObject*>Model)
    elif issubclass(cls, ChoiceModel) and t.tp_basicsize == (<_TypeSlots*><PyObject*>ChoiceModel).tp_basicsize:
        t.tp_alloc = _choice_alloc
        t.tp_free = _choice_free
        _direct_dealloc(cls, <_TypeSlots*><PyObject*>ChoiceModel)


cdef int _direct_dealloc(object cls, _TypeSlots* base) except -1:
    # The class's instances are freed by its base's dealloc directly (estcodec_model_dealloc above) when nothing
    # between them adds to freeing: no finalizer (__del__) on the class or on a class between, which CPython's
    # subtype_dealloc would call. Otherwise subtype_dealloc stays.
    for k in cls.__mro__:
        if k is Model or k is ChoiceModel:
            break
        if "__del__" in k.__dict__:
            return 0
    (<_TypeSlots*><PyObject*>cls).tp_dealloc = \
        _model_dealloc if base == <_TypeSlots*><PyObject*>Model else _choice_dealloc
    return 0


# the deallocs the two above call: those of Model and ChoiceModel themselves
_model_dealloc_base = (<_TypeSlots*><PyObject*>Model).tp_dealloc
_choice_dealloc_base = (<_TypeSlots*><PyObject*>ChoiceModel).tp_dealloc


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
DEF SEQOF_EAGER = 64        # elements of a lazy SEQUENCE OF built while decoding at least (see _decode_seqof)
DEF SEQOF_EAGER_MAX = 1024  # and at most; the rest is checked while decoding, built when read


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
    bint has_allowed        # the value must be one of FieldSpec.allowed
    bint defer              # a constructed field declared lazy: validated now, decoded on first read
    PyObject* early         # a deferred field's early reader (SingleAttributeList, borrowed), else NULL


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
    cdef public bint lazy           # CHOICE: validated while decoding, its value built on first access;
                                    # SEQUENCE OF / SET OF: elements past SEQOF_EAGER checked, built when read
    cdef public bint rdn_pairs      # lazy CHOICE of an RDNSequence: the (type, value) pairs are collected while
                                    # validating, so reading them costs no second walk (x509.Name)
    cdef public bint slot_fields    # SEQUENCE: some fields are read straight from the instance (field_slots), so
                                    # an unpickled instance is decoded at once
    cdef public bint rdn_pairs_on_read  # with rdn_pairs: the walk while decoding only checks; the pairs are
                                    # collected by a second walk when first read (a request's subject, read as a
                                    # string if at all)
    cdef public bint lenient_values # lazy CHOICE: checked while decoding as DER all the way down, but the string
                                    # and time contents of open-type values inside only when built (x509 names)
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
        s.rdn_pairs_on_read = self.rdn_pairs_on_read
        s.lenient_values = self.lenient_values
        s.slot_fields = self.slot_fields
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
    cdef public tuple allowed           # the values a decoded field may hold (``version INTEGER { v1(0) }``)
    cdef public bint lazy               # a constructed field validated while decoding and built on first read
    cdef public object early            # a lazy field's reader run while decoding (SingleAttributeList._take)
    cdef dict _resolved                 # registry type -> effective Spec (with this field's own tagging)
    cdef dict _specs                    # registry type -> its Spec (contained values)

    def __init__(self, str name, Spec spec, *, bint optional=False, bint has_default=False, default=None,
                 Py_ssize_t defined_by=-1, dict registry=None, bint contained=False, Py_ssize_t slot=-1,
                 tuple allowed=None, bint lazy=False):
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
        self.allowed = allowed
        self.lazy = lazy
        self.early = None

    def __repr__(self):
        return f"<FieldSpec {self.name}: {self.spec!r}>"


cdef object _MISSING = object()


cdef int _check_allowed(FieldSpec f, object v, Py_ssize_t offset) except -1:
    # A field restricted to some values (``field(allowed=...)``) holds another one.
    if v not in f.allowed:
        shown = " or ".join([repr(a) for a in f.allowed])
        _fail(f"{f.name} must be {shown}, got {v!r}", offset, "invalid-value")
    return 0


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
# pointer can have: bit 0 set, bit 1 set for a BIT STRING, bits 3-31 the content length, bits 32-63 the content
# offset in the source bytes. The value is validated while decoding and built on first read. A constructed field
# declared ``field(lazy=True)`` is deferred the same way (bit 2 set, a "tree" mark): validated while decoding,
# decoded in place on first read; its mark holds the offset and length of the whole TLV, not of the contents.
cdef inline bint _is_leaf(PyObject* p) noexcept:
    return (<size_t>p) & 1


cdef inline bint _leaf_fits(Py_ssize_t start, Py_ssize_t n) noexcept:
    # C constants (a bare 0xFFFFFFFF is a Python int to Cython: a PyLong made and compared at every leaf)
    return sizeof(size_t) >= 8 and <size_t>start < <size_t>0xFFFFFFFFU and <size_t>n < <size_t>0x1FFFFFFFU


cdef inline PyObject* _leaf_mark(Py_ssize_t start, Py_ssize_t n, bint bits) noexcept:
    return <PyObject*>((<size_t>start << 32) | (<size_t>n << 3) | (2 if bits else 0) | 1)


cdef inline PyObject* _tree_mark(Py_ssize_t start, Py_ssize_t n) noexcept:
    return <PyObject*>((<size_t>start << 32) | (<size_t>n << 3) | 5)


cdef inline bint _is_tree_mark(size_t mark) noexcept:
    return (mark & 5) == 5


cdef inline bint _is_value_mark(size_t mark) noexcept:
    # a deferred OCTET STRING / BIT STRING: the mark holds the place of its contents
    return (mark & 5) == 1


cdef inline Py_ssize_t _leaf_start(size_t mark) noexcept:
    return <Py_ssize_t>(mark >> 32)


cdef inline Py_ssize_t _leaf_len(size_t mark) noexcept:
    return <Py_ssize_t>((mark >> 3) & 0x1FFFFFFF)

