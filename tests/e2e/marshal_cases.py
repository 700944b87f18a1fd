"""Hostile handler results for the marshaller's differential test (test_marshal.py).

CASES maps a name to a function that builds a fresh value. The same module runs in two
places: under record_marshal_oracle.py, with the official encoder (simplejson 3.20.1's C
encoder, awslambdaric 4.0.1's options), which wrote marshal_oracle.json; and as a handler's
helper under host, whose posts must match that file. So every value here must build the
same way on CPython 3.11 to 3.13, and reset() undoes what a case changes in the process.
"""

import collections
import decimal
import enum
import sys

_DECIMAL_MODULE = sys.modules["decimal"]


def reset():
    sys.modules["decimal"] = _DECIMAL_MODULE


P = collections.namedtuple("P", "x y")


class IE(enum.IntEnum):
    A = 5


# ---------------------------------------------------------------- _asdict
class AsdictGetRaises:
    @property
    def _asdict(self):
        raise ValueError("getting _asdict failed")


class AsdictGetAttributeError:
    def __getattr__(self, name):
        raise AttributeError(name)


class AsdictGetKeyboardInterrupt:
    def __getattr__(self, name):
        if name == "_asdict":
            raise KeyboardInterrupt("from __getattr__")
        raise AttributeError(name)


class AsdictCallTypeError:
    def _asdict(self):
        raise TypeError("calling _asdict failed")


class AsdictCallValueError:
    def _asdict(self):
        raise ValueError("calling _asdict failed")


class AsdictWantsArgument:
    def _asdict(self, extra):
        return {}


class AsdictNotCallable:
    _asdict = {"a": 1}


def _returns(value):
    return type("AsdictReturns", (), {"_asdict": lambda self: value})()


class ListWithAsdict(list):
    def _asdict(self):
        return {"from": "_asdict"}


class DictWithAsdict(dict):
    def _asdict(self):
        return {"from": "_asdict"}


class NamedtupleAsdictTypeError(P):
    def _asdict(self):
        raise TypeError("no")


# ---------------------------------------------------------------- lists and tuples
class FalsyList(list):
    def __bool__(self):
        return False


class ZeroLenList(list):
    def __len__(self):
        return 0


class BoolRaisesList(list):
    def __bool__(self):
        raise ValueError("__bool__ failed")


class OwnIterList(list):
    def __iter__(self):
        return iter(["from", "__iter__"])


class IterRaisesList(list):
    def __iter__(self):
        raise ValueError("__iter__ failed")


class NextRaisesList(list):
    def __iter__(self):
        yield 1
        raise ValueError("next failed")


class ZeroLenTuple(tuple):
    def __len__(self):
        return 0


class OwnIterTuple(tuple):
    def __iter__(self):
        return iter([9])


# ---------------------------------------------------------------- dict subclasses
def _items_dict(items_result, storage=(("stored", 1),)):
    cls = type("ItemsDict", (dict,), {"items": lambda self: items_result})
    return cls(storage)


class ZeroLenDict(dict):
    def __len__(self):
        return 0


class ItemsRaisesDict(dict):
    def items(self):
        raise ValueError("items() failed")


class PairTuple(tuple):
    pass


# ---------------------------------------------------------------- numbers and strings
class IntOwnInt(int):
    def __int__(self):
        return 42

    def __str__(self):
        return "str"

    __repr__ = __str__


class IntIntReturnsStr(int):
    def __int__(self):
        return "not an int"


class FloatOwnFloat(float):
    def __float__(self):
        return 9.5

    def __repr__(self):
        return "repr"


class FloatFloatReturnsNan(float):
    def __float__(self):
        return float("nan")


class FloatFloatReturnsStr(float):
    def __float__(self):
        return "s"


class StrOwnStr(str):
    def __str__(self):
        return "other"


class BytesOwnStr(bytes):
    def __str__(self):
        return "other"


class UnhashableStr(str):
    __hash__ = None


class UnhashableInt(int):
    __hash__ = None


# ---------------------------------------------------------------- Decimal
class DecimalOwnStr(decimal.Decimal):
    def __str__(self):
        return "7.70"


class DecimalProxy:
    """Stands for a Decimal (as lazy-object proxies and mocks with spec= do)."""

    @property
    def __class__(self):
        return decimal.Decimal

    def is_nan(self):
        return False

    def __str__(self):
        return "3.30"


def _decimal_after_del_module():
    value = [decimal.Decimal("1.50"), {"k": decimal.Decimal("-0")}]
    del sys.modules["decimal"]
    return value


def _decimal_with_module_replaced():
    value = decimal.Decimal("2.5")
    sys.modules["decimal"] = type(sys)("decimal")
    return value


# ---------------------------------------------------------------- the default() message
class ProxyOfOrderedDict:
    @property
    def __class__(self):
        return collections.OrderedDict


class ClassRaises:
    """Only reached nested: isinstance(obj, bytes) on the whole result raises first."""

    @property
    def __class__(self):
        raise ValueError("__class__ failed")


class ClassRaisesWithEncodedJson(ClassRaises):
    encoded_json = "raw text"


class ClassAttributeError:
    @property
    def __class__(self):
        raise AttributeError("no __class__ here")


class _OddName(type):
    @property
    def __name__(cls):
        return 12345


OddName = _OddName("OddName", (), {})


# ---------------------------------------------------------------- Python code that changes
# a container while it is written
class _Mutator:
    def __init__(self, change):
        self.change = change

    def _asdict(self):
        self.change()
        return {"m": 1}


def _dict_cleared_while_written():
    d = {}
    d.update(a=_Mutator(d.clear), b=2, c=3)
    return d


def _dict_grown_while_written():
    d = {}
    d.update(a=_Mutator(lambda: d.update(z=26)), b=2)
    return d


def _dict_values_replaced_while_written():
    d = {}
    d.update(a=_Mutator(lambda: d.update(b="new")), b="old")
    return d


def _outer_dict_changed_from_nested():
    d = {}
    d.update(a={"inner": [_Mutator(lambda: d.update(a2=1, b="new"))]}, b="old")
    return d


def _list_shrunk_while_written():
    lst = []
    lst.extend([_Mutator(lst.clear), 2, 3])
    return lst


def _list_grown_while_written():
    lst = []
    lst.extend([_Mutator(lambda: lst.append("added")), 2])
    return lst


def _items_list_changed_while_written():
    kept = [("a", None), ("b", 2), ("c", 3)]
    kept[0] = ("a", _Mutator(lambda: kept.pop()))
    return _items_dict(kept)


def _dict_in_frozen_dict_changed():
    inner = {"x": 1, "y": 2}
    outer = {}
    outer.update(first=_Mutator(lambda: inner.update(x="early")), inner=inner,
                 last=_Mutator(lambda: inner.update(y="late")))
    return outer


def _circular_through_dict_subclass():
    od = collections.OrderedDict()
    od["self"] = [od]
    return od


CASES = {
    # sanity: what every handler returns
    "plain": lambda: {"a": 1, "b": [1, 2.5, None, True], "c": {"d": "e\n\u00e9\U0001F600"}},
    "namedtuple": lambda: [P(1, P("a", None))],
    "ordered_dict": lambda: collections.OrderedDict([("b", 1), ("a", 2)]),
    "int_enum": lambda: {IE.A: IE.A},
    "decimals": lambda: [decimal.Decimal("1.10"), decimal.Decimal("1E+2"),
                         decimal.Decimal("-Infinity"), decimal.Decimal(10) ** 30],
    # floats: allow_nan is off in simplejson >= 3.19 and awslambdaric does not set it
    "float_nan": lambda: float("nan"),
    "float_inf_nested": lambda: {"x": [1.0, float("inf")]},
    "float_neg_inf": lambda: -float("inf"),
    "float_nan_key": lambda: {float("nan"): 1},
    "decimal_nan": lambda: decimal.Decimal("NaN"),
    "decimal_snan": lambda: [decimal.Decimal("sNaN")],
    "float_subclass_own_float": lambda: [FloatOwnFloat(2.5)],
    "float_subclass_nan_value": lambda: FloatOwnFloat("nan"),
    "float_subclass_float_is_nan": lambda: [FloatFloatReturnsNan(1.5)],
    "float_subclass_float_returns_str": lambda: [FloatFloatReturnsStr(1.5)],
    "float_subclass_key": lambda: {FloatOwnFloat(1.5): 0},
    # ints: written as int(obj)
    "int_subclass_own_int": lambda: [IntOwnInt(7)],
    "int_subclass_int_returns_str": lambda: [IntIntReturnsStr(7)],
    "int_subclass_key": lambda: {IntOwnInt(7): 0},
    "int_too_long_for_str": lambda: [10 ** 5000],
    "int_key_too_long_for_str": lambda: {10 ** 5000: 0},
    # strings and bytes
    "str_subclass_own_str": lambda: [StrOwnStr("mine"), {StrOwnStr("key"): 1}],
    "bytes_subclass_nested": lambda: [BytesOwnStr(b"raw")],
    "bytes_key": lambda: {b"k": 1, b"\xc3\xa9": 2},
    "bytes_subclass_key": lambda: {BytesOwnStr(b"bk"): 1},
    "bytes_key_invalid_utf8": lambda: {b"\xff": 1},
    "bytes_top_level": lambda: b"raw\x00\xff",
    "bytes_subclass_top_level": lambda: BytesOwnStr(b"raw\x00\xff"),
    # keys
    "key_decimal": lambda: {decimal.Decimal("1"): 0},
    "key_tuple": lambda: {(1, 2): 0},
    "keys_mixed": lambda: [{1: "a"}, {True: "b"}, {1.0: "c"}, {"1": "d"}, {None: "e"}],
    "key_unhashable_str": lambda: _items_dict([(UnhashableStr("k"), 1)]),
    "key_unhashable_int": lambda: _items_dict([(UnhashableInt(3), 1)]),
    # _asdict
    "asdict_get_raises": lambda: [AsdictGetRaises()],
    "asdict_get_attribute_error": lambda: [AsdictGetAttributeError()],
    "asdict_get_keyboard_interrupt": lambda: [AsdictGetKeyboardInterrupt()],
    "asdict_call_type_error": lambda: [AsdictCallTypeError()],
    "asdict_call_value_error": lambda: [AsdictCallValueError()],
    "asdict_wants_argument": lambda: [AsdictWantsArgument()],
    "asdict_not_callable": lambda: [AsdictNotCallable()],
    "asdict_returns_list": lambda: [_returns([1, 2])],
    "asdict_returns_none": lambda: [_returns(None)],
    "asdict_returns_decimal": lambda: [_returns(decimal.Decimal(1))],
    "asdict_returns_ordered_dict": lambda: [_returns(collections.OrderedDict([("b", 1), ("a", 2)]))],
    "asdict_returns_dict_subclass_bad_items": lambda: [_returns(_items_dict([1]))],
    "asdict_on_list_subclass": lambda: ListWithAsdict([1]),
    "asdict_on_dict_subclass": lambda: DictWithAsdict(x=1),
    "asdict_namedtuple_type_error": lambda: NamedtupleAsdictTypeError(1, 2),
    # list and tuple subclasses
    "list_falsy": lambda: {"a": FalsyList([1, 2])},
    "list_zero_len": lambda: ZeroLenList([1, 2]),
    "list_bool_raises": lambda: [BoolRaisesList([1])],
    "list_own_iter": lambda: OwnIterList([1, 2]),
    "list_iter_raises": lambda: [IterRaisesList([1])],
    "list_next_raises": lambda: [NextRaisesList([1])],
    "tuple_zero_len": lambda: ZeroLenTuple([1]),
    "tuple_own_iter": lambda: OwnIterTuple([1, 2]),
    "list_falsy_circular": lambda: (lambda l: (l.append(l), l)[1])(FalsyList()),
    # dict subclasses: items() results
    "items_flat_list": lambda: _items_dict([1, 2]),
    "items_one_tuple": lambda: _items_dict([(1,)]),
    "items_three_tuple": lambda: _items_dict([("a", 1, 2)]),
    "items_list_pairs": lambda: _items_dict([["a", 1]]),
    "items_not_iterable": lambda: _items_dict(5),
    "items_iterator": lambda: _items_dict(iter([("a", 1), ("b", 2)])),
    "items_tuple_subclass_pairs": lambda: _items_dict([PairTuple(("a", 1))]),
    "items_pairs_after_good_ones": lambda: _items_dict([("a", 1), "bad"]),
    "items_empty_storage": lambda: _items_dict([("x", 1)], storage=()),
    "items_empty_list": lambda: _items_dict([]),
    "items_raises": lambda: ItemsRaisesDict(a=1),
    "dict_zero_len": lambda: ZeroLenDict(a=1),
    "dict_subclass_circular": _circular_through_dict_subclass,
    # Decimal: the class awslambdaric imported, whatever sys.modules says
    "decimal_after_del_module": _decimal_after_del_module,
    "decimal_with_module_replaced": _decimal_with_module_replaced,
    "decimal_subclass_own_str": lambda: [DecimalOwnStr("1")],
    "decimal_proxy": lambda: [DecimalProxy()],
    # the default() message: o.__class__.__name__
    "proxy_class_name": lambda: [ProxyOfOrderedDict()],
    "class_raises_nested": lambda: [ClassRaises()],
    "class_raises_with_encoded_json": lambda: [ClassRaisesWithEncodedJson()],
    "class_attribute_error": lambda: [ClassAttributeError()],
    "class_name_not_str": lambda: [OddName()],
    "set_nested": lambda: {"a": [{1}]},
    # Python code changing what is being written
    "dict_cleared_while_written": _dict_cleared_while_written,
    "dict_grown_while_written": _dict_grown_while_written,
    "dict_values_replaced_while_written": _dict_values_replaced_while_written,
    "outer_dict_changed_from_nested": _outer_dict_changed_from_nested,
    "dict_in_frozen_dict_changed": _dict_in_frozen_dict_changed,
    "list_shrunk_while_written": _list_shrunk_while_written,
    "list_grown_while_written": _list_grown_while_written,
    "items_list_changed_while_written": _items_list_changed_while_written,
}
