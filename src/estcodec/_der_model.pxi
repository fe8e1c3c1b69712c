# The model base classes (SEQUENCE and CHOICE instances), their attribute descriptors, pickling, and the bound
# decoders set on each model class. Decoded instances keep the exact bytes they came from, so they re-encode
# byte-identically (also where a SET OF arrived unsorted); instances built from values are encoded canonically.

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
        if _is_tree_mark(mark):
            # a lazy constructed field: validated while decoding, decoded in place now
            f = <FieldSpec>(<Spec>type(self)._asn1_spec).fields[i]
            v = _decode_in_place(self._src, f.spec, start, start + n, False, True)
        elif mark & 2:
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

    def __setattr__(self, name, value):
        # Fields are read-only (their descriptors say so too; this gives the message for those read straight from
        # the instance, see field_slots); other names as for any object (a class with a __dict__ takes them).
        if name in getattr(type(self), "_field_names", ()):
            raise AttributeError(f"{type(self).__name__} is immutable; use .replace({name}=...)")
        PyObject_GenericSetAttr(self, name, <PyObject*>value)

    def __delattr__(self, name):
        if name in getattr(type(self), "_field_names", ()):
            raise AttributeError(f"{type(self).__name__} is immutable; fields cannot be deleted")
        PyObject_GenericSetAttr(self, name, NULL)

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
        _enter(&ctx, <PyObject*>alt.seg, 0)     # errors (values checked only now: Spec.lenient_values) say where
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


cdef extern from "structmember.h":
    ctypedef struct _MemberDef "PyMemberDef":
        const char* name
        int type
        Py_ssize_t offset
        int flags
        const char* doc
    int T_OBJECT_EX
    int READONLY

cdef extern from "Python.h":
    object PyDescr_NewMember(PyTypeObject* t, _MemberDef* m)
    int PyObject_GenericSetAttr(object o, object name, PyObject* value) except -1


cdef class _MemberDefs:
    # The PyMemberDef entries behind member descriptors of model classes, and their names (a descriptor points
    # into both for as long as it lives; the class keeps this object).
    cdef _MemberDef* defs
    cdef Py_ssize_t n
    cdef list names
    cdef readonly list fields      # (attribute name, field index) of each entry

    def __cinit__(self, Py_ssize_t n):
        self.defs = <_MemberDef*>PyMem_Malloc((n if n > 0 else 1) * sizeof(_MemberDef))
        if self.defs == NULL:
            raise MemoryError()
        self.n = n
        self.names = []
        self.fields = []

    def __dealloc__(self):
        PyMem_Free(self.defs)

    cdef _MemberDef* add(self, str name, Py_ssize_t index, Py_ssize_t offset) except NULL:
        # The next entry: a read-only object slot at ``offset`` in the instance, named ``name``.
        cdef Py_ssize_t k = len(self.fields)
        cdef bytes b = name.encode("ascii")
        if k >= self.n:
            raise IndexError("no member entry left")
        self.names.append(b)
        self.fields.append((name, index))
        self.defs[k].name = PyBytes_AS_STRING(b)
        self.defs[k].type = T_OBJECT_EX
        self.defs[k].offset = offset
        self.defs[k].flags = READONLY
        self.defs[k].doc = NULL
        return &self.defs[k]


cdef Py_ssize_t _value_offset() except -1:
    # Where ChoiceModel._value lies in an instance: the one word of a fresh instance that holds a sentinel put there
    # (Cython gives no address of an object attribute).
    cdef ChoiceModel cm = ChoiceModel.__new__(ChoiceModel)
    cdef object sentinel = object()
    cdef PyObject** words = <PyObject**><PyObject*>cm
    cdef Py_ssize_t i, found = -1
    cm._value = sentinel
    for i in range((<_TypeSlots*><PyObject*>ChoiceModel).tp_basicsize // <Py_ssize_t>sizeof(PyObject*)):
        if words[i] == <PyObject*>sentinel:
            if found >= 0:
                raise SystemError("ChoiceModel._value found twice")
            found = i
    cm._value = None
    if found < 0:
        raise SystemError("ChoiceModel._value not found")
    return found * <Py_ssize_t>sizeof(PyObject*)


cdef Py_ssize_t _slots_offset():
    # Where a model's inline value slots begin in its instance (Model._s), measured on an instance.
    cdef Model m = Model.__new__(Model)
    return <Py_ssize_t>(<char*>&m._s[0] - <char*><PyObject*>m)


cdef Py_ssize_t _SLOTS_AT = _slots_offset()
# ``value`` of the CHOICE classes that build their value while decoding (value_slot): one entry, at the offset of
# ChoiceModel._value, shared by their descriptors
cdef _MemberDefs _VALUE_DEFS = _MemberDefs(1)
cdef _MemberDef* _VALUE_MEMBER = _VALUE_DEFS.add("value", -1, _value_offset())
cdef object _MEMBER_DESCRIPTOR = type(PyDescr_NewMember(<PyTypeObject*>ChoiceModel, _VALUE_MEMBER))


def field_slots(cls):
    """Read the plain fields of the SEQUENCE model class ``cls`` straight from the instance: a member descriptor
    (which CPython's attribute lookup specialises, LOAD_ATTR_SLOT) for each field that always holds its value
    there: a universal primitive (not OCTET STRING or BIT STRING, whose values are built on first read), required
    or with a DEFAULT, in a model whose values fit in the instance (at most INLINE_SLOTS). Replaces the field's
    FieldGetter and the one-step FieldPath aliases of it defined by the class (``Extension.oid``). Instances of
    such a class are decoded at once when unpickled. Returns the number of fields read so.

    A subclass inherits such descriptors only where they fit it: one whose name the subclass does not define
    again is made afresh for the subclass if its field is a plain field there too, else it is the FieldPath it
    replaced (a subclass with fields of its own may hold something else at that index)."""
    cdef Spec spec = <Spec?>cls._asn1_spec
    cdef FieldSpec f
    cdef FieldPath fp
    cdef _MemberDefs defs
    cdef Py_ssize_t i
    if not isinstance(cls, type) or not issubclass(cls, Model) or spec.kind != K_SEQ or spec.model is not cls:
        raise TypeError(f"{cls!r} is not a SEQUENCE model class")
    if spec.nslots > INLINE_SLOTS:
        return 0
    chosen = []
    for i, f in enumerate(spec.fields):
        if f.spec.kind < 100 and f.spec.kind != T_OCTET_STRING and f.spec.kind != T_BIT_STRING \
                and not f.optional and not f.contained and not f.lazy and f.defined_by < 0 \
                and type(cls.__dict__.get(f.name)) is FieldGetter:
            chosen.append((i, f.name))
    aliases = []
    for name, v in cls.__dict__.items():
        if type(v) is FieldPath:
            fp = <FieldPath>v
            if fp.n == 1 and fp.attr is None and not fp.none_as_list and not fp.raw:
                aliases.append((name, fp.path[0]))
    plain = {i for i, _ in chosen}
    for base in cls.__mro__[1:]:
        inherited = base.__dict__.get("_asn1_member_defs")
        if type(inherited) is _MemberDefs:
            for name, i in (<_MemberDefs>inherited).fields:
                if name in cls.__dict__ or any(name == n for n, _ in aliases):
                    continue
                if i in plain:
                    aliases.append((name, i))
                else:
                    type.__setattr__(cls, name, FieldPath(i))
    if not chosen:
        return 0
    defs = _MemberDefs(len(chosen) + len(aliases))
    for i, name in chosen + [(j, n) for n, j in aliases if j in plain]:
        type.__setattr__(cls, name, PyDescr_NewMember(
            <PyTypeObject*>cls, defs.add(name, i, _SLOTS_AT + i * <Py_ssize_t>sizeof(PyObject*))))
    type.__setattr__(cls, "_asn1_member_defs", defs)
    spec.slot_fields = True
    return len(chosen)


def value_slot(cls):
    """Give the CHOICE model class ``cls`` a ``value`` read straight from the instance (a member descriptor) when
    its value is built while decoding (not ``lazy``, not transparent) and no class between it and ChoiceModel
    defines ``value``: its instances always hold the value itself (an unpickled one is decoded at once). A
    ``lazy`` class below such a class gets ChoiceModel's ``value`` back (it builds the value on first read).
    True if the class reads ``value`` from the slot."""
    cdef Spec spec
    if not isinstance(cls, type) or not issubclass(cls, ChoiceModel):
        raise TypeError(f"{cls!r} is not a CHOICE model class")
    spec = <Spec?>cls._asn1_spec
    own = None
    for k in cls.__mro__:
        if k is ChoiceModel:
            break
        if "value" in k.__dict__:
            own = k.__dict__["value"]
            break
    if spec.kind != K_CHOICE or spec.lazy or spec.transparent or spec.model is not cls:
        if own is not None and type(own) is _MEMBER_DESCRIPTOR:
            type.__setattr__(cls, "value", ChoiceModel.__dict__["value"])
        return False
    if own is not None and type(own) is not _MEMBER_DESCRIPTOR:
        return False     # its own value (a property, say): kept
    type.__setattr__(cls, "value", PyDescr_NewMember(<PyTypeObject*>cls, _VALUE_MEMBER))
    return True


def _model_from_pickle(cls, data, bint ber=False):
    """Unpickle a model cheaply: check the outer tag and length, keep the bytes, and decode them on the first read
    of a field (a SEQUENCE model) or of ``.value`` (a ``lazy`` CHOICE model). The bytes were a valid encoding when
    pickled; bytes altered since then raise DecodeError at that first read. Models read with ber=True, SEQUENCE
    models with fields read from the instance (field_slots) and the CHOICE models that are not lazy (value_slot)
    decode at once."""
    cdef bytes src = as_bytes(data)
    cdef Spec spec = <Spec>cls._asn1_spec
    cdef Header h
    cdef Py_ssize_t n = PyBytes_GET_SIZE(src)
    cdef Py_ssize_t idx
    cdef Model m
    cdef ChoiceModel cm
    if ber:
        return cls.from_der(src, ber=True)  # read back as it was read first, at once (rare)
    if spec.kind == K_SEQ and spec.model is cls and not spec.slot_fields:
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
    if spec.kind == K_CHOICE and spec.model is cls and not spec.transparent and spec.lazy:
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
            if self.bits_data and i == self.n - 1 and (mark & 7) == 3:
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

