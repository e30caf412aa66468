"""The restricted environment in which diagram conditions, scripts and timers run.

SpiffWorkflow's own :class:`PythonScriptEngine` is plain ``eval``/``exec`` with every
builtin, so a diagram could run ``os.popen``. Every expression and script of a diagram
runs here instead, through :class:`RestrictedScriptEngine`: the source is checked against
a whitelist (at deployment with :func:`check_expression` / :func:`check_script`, and again
when it first runs), rewritten so that loops, big numbers and big values are metered, and
compiled once per source text.

Expressions (conditions, timer and cardinality expressions, DMN cells)
    Python expressions, or Camunda's JUEL inside ``${...}`` / ``#{...}`` (translated by
    :func:`translate_expression`). Expressions must not change data: the mutating methods
    listed below are refused in them, and so is ``:=``.

Scripts (script tasks)
    Python statements: assignment (also augmented, tuple unpacking, subscript and slice
    targets), ``if``/``elif``/``else``, ``for`` and ``while`` (with ``else``), ``break``,
    ``continue``, ``pass``, ``del`` of names and items, expression statements. Scripts are
    Python only (no JUEL translation); common leading indentation is removed. Refused:
    ``import``, ``def``, ``lambda``, ``class``, ``with``, ``try``, ``raise``, ``assert``,
    ``return``, ``global``/``nonlocal``, ``yield``, ``await``/``async``, ``match``,
    annotated assignment, assignment to attributes and assignment to a builtin or helper
    name. Throwing a BPMN error is the diagram's job, hence no ``raise``; ``print`` is not
    available either (a script's only output is task data).

Names
    No name, attribute or keyword argument may start with ``_`` (not even ``_``).
    Builtins available: ``abs all any bool dict enumerate float int len list max min
    range round set sorted str sum tuple zip`` and the constants ``True False None``.
    ``open eval exec compile getattr setattr delattr hasattr globals locals vars dir
    breakpoint exit quit help memoryview super classmethod staticmethod isinstance
    issubclass callable print`` are refused outright; calling any other Python builtin
    (``type(x)``, ``format(x)``, ``input()``) is refused, while reading a variable of
    such a name (a data field called ``type``, ``id`` or ``input``) is fine: at run time
    only the builtins above exist. Helper functions registered with
    :func:`register_helper` or passed to :class:`RestrictedScriptEngine` are callable by
    name. Task data keys starting with ``_xn_`` are reserved for the engine's own names
    and are removed from the task data after a script.

Attributes (checked when the source is checked and, by the value's type, at run time)
    ``str``: capitalize casefold count endswith find index isalnum isalpha isdigit
    isnumeric isspace join lower lstrip partition removeprefix removesuffix replace rfind
    rpartition rsplit rstrip split splitlines startswith strip title upper;
    ``dict``: get keys values items copy, in scripts also update setdefault pop clear;
    ``list``: index count copy, in scripts also append extend insert pop remove sort
    reverse clear; ``tuple``: index count; ``set``/``frozenset``: union intersection
    difference symmetric_difference issubset issuperset isdisjoint copy, in scripts (set)
    also add discard remove clear; ``date``: year month day weekday isoweekday isoformat;
    ``datetime``: those and hour minute second microsecond date; ``time``: hour minute
    second microsecond isoformat; ``timedelta``: days seconds total_seconds. Nothing
    else: no ``format``/``format_map`` (they reach attributes), no ``mro``, no attribute
    of a function, generator, frame or type. Helpers should return plain data (str,
    numbers, lists, dicts, dates), whose attributes are the ones above.

Literals
    str, int, float, bool and None; f-strings whose format specs are constant and whose
    widths/precisions are at most :data:`MAX_FORMAT_WIDTH`. No bytes or complex literals.

Bounded execution (per evaluation of one expression or script)
    * every iteration of a ``for``/``while`` loop or a comprehension is a step; more than
      :data:`MAX_STEPS` → ``ScriptError("script exceeded its step budget ...")``;
      there is no ``def``/``lambda``, hence no recursion;
    * ``+ * ** << %``, ``str.replace``/``join``, ``list.extend`` and starred unpacking
      refuse (before computing) a result longer than :data:`MAX_SIZE` items or
      characters, an integer over :data:`MAX_INT_BITS` bits or an exponent over
      :data:`MAX_EXPONENT`; ``range`` is capped at :data:`MAX_RANGE` elements; ``sum``
      adds numbers only;
    * new values made by operators, slices, f-strings, builtins and methods are charged
      to an allocation budget of :data:`MAX_ALLOCATION` items (a character, a list slot, a
      64-bit word of an integer), so a loop cannot pile up big values;
    * turning a value into text (``str()``, f-strings, ``%``) first measures it, counting
      shared references each time, so a small structure of aliases cannot expand into a
      huge string; the same measure bounds an expression's result and the task data a
      script leaves (:data:`MAX_SIZE`; oversized variables are dropped from the task data
      and the script fails).
    What is not metered: the CPU time of single operations on big inputs (comparing,
    sorting or searching a long list inside a long loop). It is bounded by the limits
    above, not by a clock; the worker running engine steps should also have a time limit.

JUEL translation (:func:`translate_expression`)
    ``${...}``/``#{...}`` → its content translated by a small JUEL parser:
    ``&&``/``and`` → ``and``, ``||``/``or`` → ``or``, ``!x``/``not x`` → ``(not x)``
    (JUEL precedence), ``eq ne lt gt le ge`` → ``== != < > <= >=``, ``div`` → ``/``,
    ``mod`` → ``%``, ``true false null`` → ``True False None``, ``empty x`` →
    ``x in (None, '', [], {}, ())``, ``c ? a : b`` → ``a if c else b``, ``a.b`` → ``a['b']``
    (property of a map), ``a.b(...)`` → method call, ``a[i]``, ``f(...)``, ``[1, 2]``.
    Comparisons do not chain and operators keep Python semantics (no JUEL type coercion).
    Anything else (``=``, ``;``, ``->``, ``+=``, ``instanceof``, ``{``, text around the
    braces) is a ScriptError naming it. Text without braces that already parses as Python
    is returned unchanged (whitespace-stripped); text that does not is tried as JUEL.

Timers (:func:`normalize_timer_expression`)
    An unquoted ISO 8601 duration (``PT1H``, ``P5D``, ``P1DT2H``), cycle (``R3/PT10M``,
    ``R/P1D``) or date/datetime (``2026-12-01``, ``2026-12-01T09:00:00+08:00``) becomes a
    quoted Python literal after SpiffWorkflow's own parser accepted it; a quoted literal
    is checked the same way; any other expression goes through :func:`check_expression`.
    :class:`RestrictedScriptEngine` also normalizes a timer's expression when it
    evaluates it, so Camunda's unquoted values run even if a definition was not rewritten.

How errors surface
    SpiffWorkflow wraps whatever the environment raises. ``PythonScriptEngine.evaluate``
    (gateway conditions, timers, multi-instance, DMN) raises
    ``WorkflowTaskException("Error evaluating expression '...'", task=...)`` from inside
    its ``except`` block; ``execute`` (script tasks) raises a ``WorkflowTaskException``
    whose message is ``"ScriptError:<message>"`` (or ``"NameError:..."``) with
    ``line_number``/``error_line``. In both cases the original exception is the
    wrapper's ``__context__`` (not ``__cause__``), the task goes to ERROR and
    ``do_engine_steps()`` / ``task.run()`` re-raise the wrapper unchanged. Code that calls
    ``script_engine.environment.evaluate`` directly (process-level data-object and
    correlation expressions) gets the bare exception. :func:`script_error_from` digs our
    :class:`~engine.errors.ScriptError` out of such a chain (``__cause__``,
    ``__context__``, ``.error``) and fills in the element id, or turns a plain runtime
    error of a diagram expression (``NameError``, ``ZeroDivisionError``, ``TypeError`` …)
    into a ScriptError naming the element (the task spec's ``bpmn_id``).

:class:`RestrictedScriptEngine` is not serialized with a workflow: set
``workflow.script_engine`` again after deserializing one.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import numbers
import operator
import re
import textwrap
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from typing import Any, Final, Literal, NamedTuple, NoReturn

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import ScriptError, XiaonengError

__all__ = [
    "MAX_ALLOCATION",
    "MAX_EXPONENT",
    "MAX_FORMAT_WIDTH",
    "MAX_INT_BITS",
    "MAX_RANGE",
    "MAX_SIZE",
    "MAX_SOURCE_LENGTH",
    "MAX_STEPS",
    "RestrictedEnvironment",
    "RestrictedScriptEngine",
    "check_expression",
    "check_script",
    "current_task",
    "normalize_timer_expression",
    "register_helper",
    "script_error_from",
    "translate_expression",
    "unregister_helper",
]

MAX_STEPS: Final = 100_000
"""Loop and comprehension iterations allowed per evaluation."""
MAX_SIZE: Final = 1_000_000
"""Largest string/collection an operation may make; largest measured value or task data."""
MAX_ALLOCATION: Final = 10_000_000
"""Items (characters, slots, 64-bit words) new values may take per evaluation."""
MAX_RANGE: Final = 100_000
"""Largest ``range()``."""
MAX_EXPONENT: Final = 1_000
"""Largest integer exponent (for bases other than -1, 0 and 1)."""
MAX_INT_BITS: Final = 4_096
"""Largest integer an operation may make (about 1,200 decimal digits)."""
MAX_FORMAT_WIDTH: Final = 1_000
"""Largest width or precision in an f-string format spec or a ``%`` format."""
MAX_SOURCE_LENGTH: Final = 100_000
"""Longest expression or script source accepted."""

current_task: ContextVar[Any] = ContextVar("current_task", default=None)
"""The SpiffWorkflow task whose expression or script is running (None outside one)."""

# Reserved names injected by the rewriter. User code cannot name them: the check refuses
# every name starting with "_" before the rewriter runs.
_RESERVED_PREFIX: Final = "_xn_"
_RUN: Final = "_xn_run"

Mode = Literal["eval", "exec"]


class _Rejected(Exception):
    """A problem found while translating or checking; becomes a ScriptError."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _script_error(
    problem: _Rejected, *, element_id: str | None, source: str, multiline: bool
) -> ScriptError:
    message = problem.message
    if problem.line is not None and multiline:
        message = f"{message} (line {problem.line})"
    return ScriptError(message, element_id=element_id, source=source)


# --------------------------------------------------------------------------------------
# Helpers registered for diagrams
# --------------------------------------------------------------------------------------

_helpers: dict[str, Callable[..., Any]] = {}
_helpers_version = 0
_helpers_lock = threading.Lock()


def _check_helper(name: str, fn: object) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"helper name must be a Python identifier: {name!r}")
    if name.startswith("_"):
        raise ValueError(f"helper name must not start with '_': {name!r}")
    if not callable(fn):
        raise TypeError(f"helper {name!r} is not callable")


def register_helper(name: str, fn: Callable[..., Any]) -> None:
    """Make a function callable by name from every diagram expression and script.

    Args:
        name: The global name diagrams use (an identifier not starting with ``_``).
        fn: The function. It runs with full Python rights: keep it small and pure, and
            read the case through :data:`current_task` if needed.

    Raises:
        ValueError: The name is not usable.
        TypeError: ``fn`` is not callable.
    """
    global _helpers_version
    _check_helper(name, fn)
    with _helpers_lock:
        _helpers[name] = fn
        _helpers_version += 1
        _compile.cache_clear()
        _cached_timer.cache_clear()


def unregister_helper(name: str) -> None:
    """Remove a helper added with :func:`register_helper` (no error if absent)."""
    global _helpers_version
    with _helpers_lock:
        if _helpers.pop(name, None) is not None:
            _helpers_version += 1
            _compile.cache_clear()
            _cached_timer.cache_clear()


# --------------------------------------------------------------------------------------
# Whitelists
# --------------------------------------------------------------------------------------


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STR_READ = _names(
    "capitalize casefold count endswith find index isalnum isalpha isdigit isnumeric "
    "isspace join lower lstrip partition removeprefix removesuffix replace rfind "
    "rpartition rsplit rstrip split splitlines startswith strip title upper"
)
_SET_READ = _names(
    "union intersection difference symmetric_difference issubset issuperset isdisjoint copy"
)
_DATE_READ = _names("year month day weekday isoweekday isoformat")
_READ_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _STR_READ,
    dict: _names("get keys values items copy"),
    list: _names("index count copy"),
    tuple: _names("index count"),
    set: _SET_READ,
    frozenset: _SET_READ,
    date: _DATE_READ,
    datetime: _DATE_READ | _names("hour minute second microsecond date"),
    time: _names("hour minute second microsecond isoformat"),
    timedelta: _names("days seconds total_seconds"),
}
_MUTATING_ATTRIBUTES: dict[type, frozenset[str]] = {
    dict: _names("update setdefault pop clear"),
    list: _names("append extend insert pop remove sort reverse clear"),
    set: _names("add discard remove clear"),
}
_ATTRIBUTES: dict[type, frozenset[str]] = {
    tp: names | _MUTATING_ATTRIBUTES.get(tp, frozenset()) for tp, names in _READ_ATTRIBUTES.items()
}
_EXPRESSION_ATTRIBUTES = frozenset().union(*_READ_ATTRIBUTES.values())
_MUTATING_NAMES = frozenset().union(*_MUTATING_ATTRIBUTES.values()) - _EXPRESSION_ATTRIBUTES
_SCRIPT_ATTRIBUTES = _EXPRESSION_ATTRIBUTES | _MUTATING_NAMES
# Attributes that are values, not methods.
_VALUE_ATTRIBUTES = _names("year month day hour minute second microsecond days seconds")
# Methods whose result is an object that already existed: not charged again.
_RETURNS_EXISTING = frozenset({"get", "pop", "setdefault"})


_attribute_cache: dict[type, frozenset[str]] = dict(_ATTRIBUTES)


def _attributes_of(tp: type) -> frozenset[str]:
    """The attributes allowed on values of a type (subclasses as their base)."""
    names = _attribute_cache.get(tp)
    if names is None:
        names = next((_ATTRIBUTES[b] for b in tp.__mro__ if b in _ATTRIBUTES), frozenset())
        _attribute_cache[tp] = names
    return names


_UNAVAILABLE_NAMES = _names(
    "open eval exec compile getattr setattr delattr hasattr globals locals vars dir "
    "breakpoint exit quit help memoryview super classmethod staticmethod isinstance "
    "issubclass callable print"
)
_PYTHON_BUILTINS = frozenset(dir(builtins)) | _UNAVAILABLE_NAMES


# --------------------------------------------------------------------------------------
# Measuring values
# --------------------------------------------------------------------------------------

_SIZED_TYPES = (str, bytes, list, tuple, dict, set, frozenset)
_SEQUENCES = (str, bytes, list, tuple)
_CONTAINERS = (list, tuple, set, frozenset)


def _too_large(what: str = "result") -> ScriptError:
    return ScriptError(f"{what} is too large (more than {MAX_SIZE:,} items or characters)")


def _too_big_number() -> ScriptError:
    return ScriptError(f"number is too large (more than {MAX_INT_BITS:,} bits)")


def _size_of(value: object) -> int:
    """The allocation units of one new value; refuse values over the per-value limits."""
    if isinstance(value, int):
        bits = value.bit_length()
        if bits > MAX_INT_BITS:
            raise _too_big_number()
        return bits >> 6
    if isinstance(value, _SIZED_TYPES):
        size = len(value)
        if size > MAX_SIZE:
            raise _too_large()
        return size
    return 0


def _deep_size(value: object, limit: int) -> int | None:
    """Measure a value as text would expand it; None once it exceeds ``limit``.

    Shared references are counted every time they occur (as ``str()`` or JSON would
    write them), so a structure of aliases or one that contains itself is large.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3
        elif isinstance(item, dict):
            total += 2 * len(item) + 1
            if total > limit:
                return None
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            total += len(item) + 1
            if total > limit:
                return None
            stack.extend(item)
        else:
            total += 1
        if total > limit:
            return None
    return total


def _check_render(value: object) -> int:
    if isinstance(value, str | float | bool | None):
        return 0
    size = _deep_size(value, MAX_SIZE)
    if size is None:
        raise _too_large("value to turn into text")
    return size


_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?")


def _check_percent_format(template: str, args: object) -> None:
    for match in _PERCENT_FIELD.finditer(template):
        for part in match.groups():
            if part == "*":
                raise ScriptError("'*' widths in % formats are not allowed")
            if part and int(part) > MAX_FORMAT_WIDTH:
                raise ScriptError(f"format width or precision over {MAX_FORMAT_WIDTH}")
    _check_render(args)


# --------------------------------------------------------------------------------------
# Operators with size checks
# --------------------------------------------------------------------------------------


def _check_add(left: object, right: object) -> None:
    if (
        isinstance(left, _SEQUENCES)
        and isinstance(right, _SEQUENCES)
        and len(left) + len(right) > MAX_SIZE
    ):
        raise _too_large()


def _check_mul(left: object, right: object) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
            raise _too_big_number()
        return
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, _SEQUENCES) and isinstance(times, int):
            if len(seq) * max(times, 0) > MAX_SIZE:
                raise _too_large()
            return


def _check_pow(base: object, exponent: object) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent > MAX_EXPONENT:
            raise ScriptError(f"exponent is too large (more than {MAX_EXPONENT:,})")
        if (base.bit_length() - 1) * exponent > MAX_INT_BITS:
            raise _too_big_number()


def _check_lshift(value: object, shift: object) -> None:
    if (
        isinstance(value, int)
        and isinstance(shift, int)
        and value
        and shift > 0
        and value.bit_length() + shift > MAX_INT_BITS
    ):
        raise _too_big_number()


def _check_mod(left: object, right: object) -> None:
    if isinstance(left, str):
        _check_percent_format(left, right)


_BINARY_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "truediv",
    ast.FloorDiv: "floordiv",
    ast.Mod: "mod",
    ast.Pow: "pow",
    ast.LShift: "lshift",
    ast.RShift: "rshift",
    ast.BitOr: "or_",
    ast.BitXor: "xor",
    ast.BitAnd: "and_",
}
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    name: getattr(operator, name) for name in _BINARY_OPERATORS.values()
}
_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    name: getattr(operator, "i" + name.rstrip("_")) for name in _BINARY_OPERATORS.values()
}
_PRECHECKS: dict[str, Callable[[Any, Any], None]] = {
    "add": _check_add,
    "mul": _check_mul,
    "pow": _check_pow,
    "lshift": _check_lshift,
    "mod": _check_mod,
}


# --------------------------------------------------------------------------------------
# Safe builtins
# --------------------------------------------------------------------------------------


def _safe_range(*args: int) -> range:
    values = range(*args)
    try:
        length = len(values)
    except OverflowError:
        length = MAX_RANGE + 1
    if length > MAX_RANGE:
        raise ScriptError(f"range is too large (more than {MAX_RANGE:,} elements)")
    return values


def _safe_sum(iterable: Iterable[Any], /, start: Any = 0) -> Any:
    if not _is_number(start):
        raise ScriptError("sum() adds numbers only")
    return builtins.sum(iterable, start)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number)


def _safe_str(value: object = "") -> str:
    _check_render(value)
    return builtins.str(value)


_safe_range.__name__ = _safe_range.__qualname__ = "range"
_safe_sum.__name__ = _safe_sum.__qualname__ = "sum"
_safe_str.__name__ = _safe_str.__qualname__ = "str"

_SAFE_BUILTINS: dict[str, Any] = {
    "abs": abs,
    "all": all,
    "any": any,
    "bool": bool,
    "dict": dict,
    "enumerate": enumerate,
    "float": float,
    "int": int,
    "len": len,
    "list": list,
    "max": max,
    "min": min,
    "range": _safe_range,
    "round": round,
    "set": set,
    "sorted": sorted,
    "str": _safe_str,
    "sum": _safe_sum,
    "tuple": tuple,
    "zip": zip,
}
# Builtins whose results are new values to charge (by identity: types are hashable,
# but a called object need not be).
_CHARGED_BUILTINS = frozenset(
    id(fn) for fn in (abs, dict, int, list, round, set, sorted, tuple, _safe_str, _safe_sum)
)


# --------------------------------------------------------------------------------------
# The per-evaluation meter used by rewritten code
# --------------------------------------------------------------------------------------


class _Run:
    """Step and allocation budgets of one evaluation; rewritten code calls its methods."""

    __slots__ = ("allocation", "steps")

    def __init__(self) -> None:
        self.steps = MAX_STEPS
        self.allocation = MAX_ALLOCATION

    def spend(self, units: int) -> None:
        if units:
            self.allocation -= units
            if self.allocation < 0:
                raise ScriptError(f"script exceeded its memory budget ({MAX_ALLOCATION:,} items)")

    def _step_budget_exceeded(self) -> NoReturn:
        raise ScriptError(f"script exceeded its step budget ({MAX_STEPS:,} loop iterations)")

    def tick(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            self._step_budget_exceeded()

    def each(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.steps -= 1
            if self.steps < 0:
                self._step_budget_exceeded()
            yield item

    def charge(self, value: Any) -> Any:
        self.spend(_size_of(value))
        return value

    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if id(fn) in _CHARGED_BUILTINS:
            self.spend(_size_of(result))
        return result

    def attribute(self, obj: Any, name: str) -> Any:
        if name not in _attributes_of(type(obj)):
            raise ScriptError(f"attribute '{name}' is not allowed on {type(obj).__name__}")
        if name in _VALUE_ATTRIBUTES:
            return getattr(obj, name)
        return functools.partial(self.method, obj, name)

    def method(self, obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        if name not in _attributes_of(type(obj)):
            raise ScriptError(f"attribute '{name}' is not allowed on {type(obj).__name__}")
        guarded = _GUARDED_METHODS.get(name)
        if guarded is not None:
            return guarded(self, obj, *args, **kwargs)
        result = getattr(obj, name)(*args, **kwargs)
        if name not in _RETURNS_EXISTING:
            self.spend(_size_of(result))
        return result

    def binop(self, op: str, left: Any, right: Any) -> Any:
        check = _PRECHECKS.get(op)
        if check is not None:
            check(left, right)
        result = _OPERATORS[op](left, right)
        self.spend(_size_of(result))
        return result

    def inplace(self, op: str, left: Any, right: Any) -> Any:
        check = _PRECHECKS.get(op)
        if check is not None:
            check(left, right)
        result = _INPLACE_OPERATORS[op](left, right)
        self.spend(_size_of(result))
        return result

    def sliced(self, obj: Any, lower: Any, upper: Any, step: Any) -> Any:
        result = obj[slice(lower, upper, step)]
        self.spend(_size_of(result))
        return result

    def make_slice(self, lower: Any, upper: Any, step: Any) -> slice:
        return slice(lower, upper, step)

    def star(self, value: Any) -> Any:
        """Charge a value unpacked with ``*``/``**`` (or assigned to a slice)."""
        try:
            size = len(value)
        except TypeError:
            value = list(value)
            size = len(value)
        if size > MAX_SIZE:
            raise _too_large()
        self.spend(size)
        return value

    def render(self, value: Any) -> Any:
        """Check a value about to be formatted into an f-string."""
        self.spend(_check_render(value))
        return value


def _guarded_replace(run: _Run, text: Any, old: Any, new: Any, count: Any = -1, /) -> Any:
    growing = isinstance(old, str) and isinstance(new, str) and len(new) > len(old)
    if isinstance(text, str) and growing:
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        if len(text) + hits * (len(new) - len(old)) > MAX_SIZE:
            raise _too_large()
    return run.charge(text.replace(old, new, count))


def _guarded_join(run: _Run, separator: Any, iterable: Any, /) -> Any:
    parts = iterable if isinstance(iterable, list | tuple) else list(iterable)
    if isinstance(separator, str):
        total = len(separator) * max(len(parts) - 1, 0)
        total += sum(len(part) for part in parts if isinstance(part, str))
        if total > MAX_SIZE:
            raise _too_large()
    return run.charge(separator.join(parts))


def _guarded_extend(run: _Run, target: Any, iterable: Any, /) -> None:
    items = iterable if isinstance(iterable, _SIZED_TYPES) else list(iterable)
    if len(target) + len(items) > MAX_SIZE:
        raise _too_large()
    run.spend(len(items))
    target.extend(items)


def _guarded_update(run: _Run, target: Any, /, *args: Any, **kwargs: Any) -> None:
    before = len(target)
    target.update(*args, **kwargs)
    if len(target) > MAX_SIZE:
        raise _too_large()
    run.spend(len(target) - before)


_GUARDED_METHODS: dict[str, Callable[..., Any]] = {
    "replace": _guarded_replace,
    "join": _guarded_join,
    "extend": _guarded_extend,
    "update": _guarded_update,
}


# --------------------------------------------------------------------------------------
# JUEL translation
# --------------------------------------------------------------------------------------

_JUEL_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|->|\+=|[-+*/%<>!?:.,()\[\]])
    """,
    re.VERBOSE | re.DOTALL,
)
_JUEL_UNSUPPORTED = {
    "=": "assignment ('=') is not supported in expressions; compare with '=='",
    ";": "';' is not supported in expressions",
    "->": "lambda expressions ('->') are not supported",
    "+=": "string concatenation ('+=') is not supported",
    "{": "'{' is not supported (only a single ${...} expression is)",
    "}": "'}' is not supported (only a single ${...} expression is)",
    "$": "'$' is not supported (only a single ${...} expression is)",
    "#": "'#' is not supported (only a single #{...} expression is)",
}
_JUEL_KEYWORDS = _names("and or not eq ne lt gt le ge div mod empty true false null instanceof")
_JUEL_BINARY_LEVELS: tuple[dict[str, str], ...] = (
    {"||": "or", "or": "or"},
    {"&&": "and", "and": "and"},
    {"==": "==", "eq": "==", "!=": "!=", "ne": "!="},
    {"<": "<", "lt": "<", ">": ">", "gt": ">", "<=": "<=", "le": "<=", ">=": ">=", "ge": ">="},
    {"+": "+", "-": "-"},
    {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"},
)


class _Token(NamedTuple):
    kind: str
    text: str


class _Node(NamedTuple):
    text: str
    compound: bool


def _juel_tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _JUEL_TOKEN.match(text, position)
        if match is None:
            char = text[position]
            if char in "'\"":
                raise _Rejected("unterminated string literal")
            if text.startswith("+=", position):
                raise _Rejected(_JUEL_UNSUPPORTED["+="])
            message = _JUEL_UNSUPPORTED.get(char, f"{char!r} is not supported in expressions")
            raise _Rejected(message)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group()))
        position = match.end()
    return tokens


def _juel_string(literal: str) -> str:
    body = literal[1:-1]
    value = re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) in "\\'\"" else m.group(0), body)
    return repr(value)


class _JuelParser:
    """A recursive-descent parser for the JUEL subset; emits parenthesized Python."""

    def __init__(self, text: str) -> None:
        self.tokens = _juel_tokens(text)
        self.index = 0

    def parse(self) -> str:
        if not self.tokens:
            raise _Rejected("empty expression")
        node = self.ternary()
        if self.index < len(self.tokens):
            self.unexpected()
        return node.text[1:-1] if node.compound else node.text

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def unexpected(self) -> NoReturn:
        token = self.peek()
        if token is None:
            raise _Rejected("unexpected end of expression")
        if token.text in _JUEL_UNSUPPORTED:
            raise _Rejected(_JUEL_UNSUPPORTED[token.text])
        if token.text == "instanceof":
            raise _Rejected("'instanceof' is not supported")
        raise _Rejected(f"unexpected {token.text!r} in expression")

    def accept(self, *texts: str) -> _Token | None:
        token = self.peek()
        if token is not None and token.kind in ("op", "name") and token.text in texts:
            self.index += 1
            return token
        return None

    def expect(self, text: str) -> None:
        if self.accept(text) is None:
            self.unexpected()

    def ternary(self) -> _Node:
        condition = self.binary(0)
        if self.accept("?") is None:
            return condition
        then = self.ternary()
        self.expect(":")
        otherwise = self.ternary()
        return _Node(f"({then.text} if {condition.text} else {otherwise.text})", True)

    def binary(self, level: int) -> _Node:
        if level == len(_JUEL_BINARY_LEVELS):
            return self.unary()
        operators = _JUEL_BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while True:
            token = self.accept(*operators)
            if token is None:
                return left
            right = self.binary(level + 1)
            left = _Node(f"({left.text} {operators[token.text]} {right.text})", True)

    def unary(self) -> _Node:
        if self.accept("!", "not"):
            return _Node(f"(not {self.unary().text})", True)
        if self.accept("-"):
            return _Node(f"(-{self.unary().text})", True)
        if self.accept("empty"):
            return _Node(f"({self.unary().text} in (None, '', [], {{}}, ()))", True)
        return self.value()

    def arguments(self, closing: str) -> str:
        items: list[str] = []
        if self.accept(closing) is None:
            while True:
                items.append(_strip(self.ternary()))
                if self.accept(closing):
                    break
                self.expect(",")
        return ", ".join(items)

    def value(self) -> _Node:
        node = self.primary()
        while True:
            if self.accept("."):
                token = self.peek()
                if token is None or token.kind != "name":
                    self.unexpected()
                self.index += 1
                if self.accept("("):
                    node = _Node(f"{node.text}.{token.text}({self.arguments(')')})", False)
                else:
                    node = _Node(f"{node.text}[{token.text!r}]", False)
            elif self.accept("["):
                index = self.ternary()
                self.expect("]")
                node = _Node(f"{node.text}[{_strip(index)}]", False)
            else:
                return node

    def primary(self) -> _Node:
        token = self.peek()
        if token is None:
            self.unexpected()
        if token.kind == "number":
            self.index += 1
            text = str(int(token.text)) if token.text.isdigit() else token.text
            return _Node(text, False)
        if token.kind == "string":
            self.index += 1
            return _Node(_juel_string(token.text), False)
        if token.kind == "name":
            return self.name(token)
        if self.accept("("):
            inner = self.ternary()
            self.expect(")")
            return inner
        if self.accept("["):
            return _Node(f"[{self.arguments(']')}]", False)
        self.unexpected()

    def name(self, token: _Token) -> _Node:
        literal = {"true": "True", "false": "False", "null": "None"}.get(token.text)
        if literal is not None:
            self.index += 1
            return _Node(literal, False)
        if token.text in _JUEL_KEYWORDS:
            self.unexpected()
        if keyword.iskeyword(token.text) and token.text not in ("True", "False", "None"):
            if token.text in ("import", "lambda"):
                raise _Rejected(f"{token.text} is not allowed")
            raise _Rejected(f"{token.text!r} is not supported in ${{...}} expressions")
        self.index += 1
        if self.accept("("):
            return _Node(f"{token.text}({self.arguments(')')})", False)
        return _Node(token.text, False)


def _strip(node: _Node) -> str:
    return node.text[1:-1] if node.compound else node.text


def _juel_to_python(text: str) -> str:
    return _JuelParser(text).parse()


def _translate(source: str) -> str:
    text = source.strip()
    if not text:
        raise _Rejected("empty expression")
    if len(text) > MAX_SOURCE_LENGTH:
        raise _Rejected(f"expression is too long (more than {MAX_SOURCE_LENGTH:,} characters)")
    if text.startswith(("${", "#{")) and text.endswith("}"):
        return _juel_to_python(text[2:-1])
    try:
        ast.parse(text, mode="eval")
    except SyntaxError as python_error:
        try:
            return _juel_to_python(text)
        except _Rejected as juel_error:
            if _uses_juel(text):
                raise juel_error from python_error
            raise _Rejected(f"syntax error: {python_error.msg}", python_error.lineno) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _Rejected(f"expression cannot be parsed: {exc}") from exc
    return text


def _uses_juel(text: str) -> bool:
    """Whether text that is not Python looks like JUEL (to pick the better message)."""
    if text.startswith(("${", "#{")):
        return True
    try:
        tokens = _juel_tokens(text)
    except _Rejected:
        return True
    juel_only = {"&&", "||", "!", "?", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod"}
    return any(t.text in juel_only or t.text in _JUEL_KEYWORDS for t in tokens) or any(
        t.kind == "name" and keyword.iskeyword(t.text) for t in tokens
    )


def translate_expression(source: str) -> str:
    """Translate a Camunda (JUEL) expression into Python; Python passes through.

    Args:
        source: ``${...}``/``#{...}`` JUEL, or a Python expression.

    Returns:
        The Python source (not yet checked against the whitelist).

    Raises:
        ScriptError: The expression uses JUEL outside the supported subset, or is neither
            Python nor JUEL.
    """
    try:
        return _translate(source)
    except _Rejected as problem:
        raise _script_error(problem, element_id=None, source=source, multiline=False) from None


# --------------------------------------------------------------------------------------
# The whitelist check
# --------------------------------------------------------------------------------------

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.FunctionDef: "def (function definitions) is not allowed",
    ast.AsyncFunctionDef: "async def is not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.With: "with is not allowed",
    ast.AsyncWith: "async with is not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.Try: "try is not allowed",
    ast.Raise: "raise is not allowed",
    ast.Assert: "assert is not allowed",
    ast.Return: "return is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.AnnAssign: "annotated assignments are not allowed",
    ast.Match: "match is not allowed",
}
if hasattr(ast, "TryStar"):
    _REFUSED_NODES[ast.TryStar] = "try is not allowed"

_EXPRESSION_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Expression, ast.Expr, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp,
        ast.Not, ast.USub, ast.UAdd, ast.Invert, ast.Compare, ast.Eq, ast.NotEq, ast.Lt,
        ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.IfExp,
        ast.Dict, ast.Set, ast.List, ast.Tuple, ast.Subscript, ast.Slice, ast.Starred,
        ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
        ast.Call, ast.keyword, ast.Attribute, ast.Name, ast.Constant, ast.JoinedStr,
        ast.FormattedValue, ast.Load, ast.Store, ast.Del,
        *_BINARY_OPERATORS,
    }
)  # fmt: skip
_SCRIPT_NODES: frozenset[type[ast.AST]] = _EXPRESSION_NODES | {
    ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.While, ast.Break,
    ast.Continue, ast.Pass, ast.Delete,
}  # fmt: skip


class _Checker(ast.NodeVisitor):
    """Walk a parsed tree and refuse everything outside the documented subset."""

    def __init__(self, *, script: bool, helpers: frozenset[str]) -> None:
        self.script = script
        self.helpers = helpers
        self.allowed = _SCRIPT_NODES if script else _EXPRESSION_NODES
        self.attributes = _SCRIPT_ATTRIBUTES if script else _EXPRESSION_ATTRIBUTES
        self.loops = 0

    def fail(self, node: ast.AST, message: str) -> NoReturn:
        raise _Rejected(message, getattr(node, "lineno", None))

    def generic_visit(self, node: ast.AST) -> None:
        if type(node) not in self.allowed:
            refused = _REFUSED_NODES.get(type(node))
            if refused is None and isinstance(node, ast.stmt):
                refused = (
                    f"{type(node).__name__} statements are not allowed"
                    if self.script
                    else "statements are not allowed in an expression"
                )
            self.fail(node, refused or f"{type(node).__name__} is not allowed")
        super().generic_visit(node)

    # names ----------------------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            self.fail(node, f"names starting with '_' are not allowed ({name!r})")
        if isinstance(node.ctx, ast.Load):
            if name in _UNAVAILABLE_NAMES and name not in self.helpers:
                self.fail(node, f"name {name!r} is not available")
        elif name in self.helpers:
            self.fail(node, f"cannot assign to {name!r}: it is a helper function")
        elif name in _SAFE_BUILTINS:
            self.fail(node, f"cannot assign to {name!r}: it is a built-in function")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = node.attr
        if name.startswith("_"):
            self.fail(node, f"attribute names starting with '_' are not allowed ({name!r})")
        if not isinstance(node.ctx, ast.Load):
            self.fail(node, "assigning to attributes is not allowed")
        if name not in self.attributes:
            if name in _MUTATING_NAMES:
                self.fail(node, f"method {name!r} changes data and is not allowed in an expression")
            self.fail(node, f"attribute {name!r} is not allowed")
        self.visit(node.value)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None and node.arg.startswith("_"):
            self.fail(node, f"names starting with '_' are not allowed ({node.arg!r})")
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Name)
            and func.id in _PYTHON_BUILTINS
            and func.id not in _SAFE_BUILTINS
            and func.id not in self.helpers
        ):
            self.fail(node, f"name {func.id!r} is not available")
        self.generic_visit(node)

    # literals ---------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes):
            self.fail(node, "bytes literals are not allowed")
        if isinstance(value, complex):
            self.fail(node, "complex numbers are not allowed")
        if value is Ellipsis:
            self.fail(node, "'...' is not allowed")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            self.fail(node, f"number is too large (more than {MAX_INT_BITS:,} bits)")

    def visit_FormattedValue(self, node: ast.FormattedValue) -> None:
        spec = node.format_spec
        if spec is not None:
            if not isinstance(spec, ast.JoinedStr) or not all(
                isinstance(part, ast.Constant) and isinstance(part.value, str)
                for part in spec.values
            ):
                self.fail(node, "format specs must be constant (no nested {...})")
            text = "".join(str(getattr(part, "value", "")) for part in spec.values)
            if any(int(digits) > MAX_FORMAT_WIDTH for digits in re.findall(r"\d+", text)):
                self.fail(node, f"format width or precision over {MAX_FORMAT_WIDTH}")
        self.visit(node.value)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.MatMult):
            self.fail(node, "the @ operator is not allowed")
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, [node.left, *node.comparators][1:], strict=True):
            if (
                isinstance(op, ast.Is | ast.IsNot)
                and isinstance(right, ast.Constant)
                and not (right.value is None or isinstance(right.value, bool))
            ):
                self.fail(node, "use '==' to compare with a literal, not 'is'")
        self.generic_visit(node)

    # loops and assignment ---------------------------------------------------------------

    def check_loop_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self.check_loop_target(element)
        elif isinstance(target, ast.Starred):
            self.check_loop_target(target.value)
        elif not isinstance(target, ast.Name):
            self.fail(target, "loop variables must be names")

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self.fail(node.target, "async is not allowed")
        self.check_loop_target(node.target)
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        self.check_loop_target(node.target)
        self.visit(node.target)
        self.visit(node.iter)
        self.visit_loop_body(node.body)
        for statement in node.orelse:
            self.visit(statement)

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        self.visit_loop_body(node.body)
        for statement in node.orelse:
            self.visit(statement)

    def visit_loop_body(self, body: list[ast.stmt]) -> None:
        self.loops += 1
        for statement in body:
            self.visit(statement)
        self.loops -= 1

    def visit_Break(self, node: ast.Break) -> None:
        if not self.loops:
            self.fail(node, "break outside a loop")

    def visit_Continue(self, node: ast.Continue) -> None:
        if not self.loops:
            self.fail(node, "continue outside a loop")

    def check_unpacking(self, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                inner = element.value if isinstance(element, ast.Starred) else element
                if isinstance(inner, ast.Subscript) and isinstance(inner.slice, ast.Slice):
                    self.fail(inner, "a slice can only be assigned on its own, not unpacked into")
                self.check_unpacking(inner)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.check_unpacking(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.target, ast.Name | ast.Subscript):
            self.fail(node, "augmented assignment needs a name or an item as its target")
        self.generic_visit(node)


def _parse(source: str, mode: Mode) -> ast.AST:
    try:
        return ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise _Rejected(f"syntax error: {exc.msg}", exc.lineno) from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _Rejected(f"source cannot be parsed: {exc}") from exc


def _check_tree(tree: ast.AST, *, script: bool, helpers: frozenset[str]) -> None:
    try:
        _Checker(script=script, helpers=helpers).visit(tree)
    except RecursionError as exc:
        raise _Rejected("source is nested too deeply") from exc


def _prepare_expression(source: str, helpers: frozenset[str]) -> tuple[str, ast.AST]:
    try:
        python = _translate(source)
    except _Rejected as problem:
        # A statement where an expression belongs: name the statement if it is refused.
        try:
            statements = ast.parse(source.strip(), mode="exec")
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            raise problem from None
        _check_tree(statements, script=True, helpers=helpers)
        raise _Rejected("statements are not allowed in an expression") from problem
    tree = _parse(python, "eval")
    _check_tree(tree, script=False, helpers=helpers)
    return python, tree


def _prepare_script(source: str, helpers: frozenset[str]) -> tuple[str, ast.AST]:
    if len(source) > MAX_SOURCE_LENGTH:
        raise _Rejected(f"script is too long (more than {MAX_SOURCE_LENGTH:,} characters)")
    python = textwrap.dedent(source)
    tree = _parse(python, "exec")
    _check_tree(tree, script=True, helpers=helpers)
    return python, tree


def _all_helpers(extra: Iterable[str]) -> frozenset[str]:
    return frozenset(_helpers).union(extra)


def check_expression(
    source: str, *, element_id: str | None = None, helpers: Iterable[str] = ()
) -> str:
    """Translate and check a diagram expression; return the Python that will run.

    Args:
        source: A condition or other expression: Python, or JUEL in ``${...}``.
        element_id: The BPMN element it belongs to, for the error.
        helpers: Names of helper functions available besides the registered ones.

    Returns:
        The translated Python expression source.

    Raises:
        ScriptError: The expression is not in the allowed subset; the message names what.
    """
    try:
        python, _ = _prepare_expression(source, _all_helpers(helpers))
    except _Rejected as problem:
        raise _script_error(
            problem, element_id=element_id, source=source, multiline="\n" in source.strip()
        ) from None
    return python


def check_script(source: str, *, element_id: str | None = None, helpers: Iterable[str] = ()) -> str:
    """Check a script task's script; return the Python that will run.

    Args:
        source: Python statements (see the module docs for the subset).
        element_id: The BPMN element it belongs to, for the error.
        helpers: Names of helper functions available besides the registered ones.

    Returns:
        The script with common leading indentation removed.

    Raises:
        ScriptError: The script is not in the allowed subset; the message names what and
            on which line.
    """
    try:
        python, _ = _prepare_script(source, _all_helpers(helpers))
    except _Rejected as problem:
        raise _script_error(problem, element_id=element_id, source=source, multiline=True) from None
    return python


# --------------------------------------------------------------------------------------
# Rewriting checked trees into metered code
# --------------------------------------------------------------------------------------


def _run(method: str, *args: ast.expr, keywords: list[ast.keyword] | None = None) -> ast.Call:
    return ast.Call(
        func=ast.Attribute(value=ast.Name(id=_RUN, ctx=ast.Load()), attr=method, ctx=ast.Load()),
        args=list(args),
        keywords=keywords or [],
    )


def _const(value: str | None) -> ast.Constant:
    return ast.Constant(value=value)


def _is_slice_target(node: ast.expr) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)


class _Rewriter(ast.NodeTransformer):
    """Route loops, operators, calls, attributes and slices through :class:`_Run`."""

    def __init__(self) -> None:
        self.temporaries = 0

    def located(self, new: ast.AST, old: ast.AST) -> Any:
        return ast.copy_location(new, old)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        args = [self.visit(arg) for arg in node.args]
        keywords = [self.visit(kw) for kw in node.keywords]
        func = node.func
        if isinstance(func, ast.Attribute):
            call = _run("method", self.visit(func.value), _const(func.attr), *args,
                        keywords=keywords)  # fmt: skip
        else:
            call = _run("call", self.visit(func), *args, keywords=keywords)
        return self.located(call, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        return self.located(_run("attribute", self.visit(node.value), _const(node.attr)), node)

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        node.value = self.visit(node.value)
        if node.arg is None:
            node.value = self.located(_run("star", node.value), node.value)
        return node

    def visit_Starred(self, node: ast.Starred) -> ast.AST:
        node.value = self.visit(node.value)
        if isinstance(node.ctx, ast.Load):
            node.value = self.located(_run("star", node.value), node.value)
        return node

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        node.values = [
            self.located(_run("star", value), value) if key is None else value
            for key, value in zip(node.keys, node.values, strict=True)
        ]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        op = _BINARY_OPERATORS[type(node.op)]
        call = _run("binop", _const(op), self.visit(node.left), self.visit(node.right))
        return self.located(call, node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Slice):
            part = node.slice
            bounds = [
                self.visit(b) if b is not None else _const(None)
                for b in (part.lower, part.upper, part.step)
            ]
            return self.located(_run("sliced", self.visit(node.value), *bounds), node)
        self.generic_visit(node)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                part.value = self.located(_run("render", self.visit(part.value)), part.value)
        return self.located(_run("charge", node), node)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = self.located(_run("each", node.iter), node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = self.located(_run("each", node.iter), node.iter)
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        self.generic_visit(node)
        tick = self.located(ast.Expr(value=_run("tick")), node.body[0])
        node.body.insert(0, tick)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        if any(_is_slice_target(target) for target in node.targets):
            node.value = self.located(_run("star", node.value), node.value)
        return node

    def temporary(self) -> str:
        self.temporaries += 1
        return f"{_RESERVED_PREFIX}t{self.temporaries}"

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST | list[ast.stmt]:
        op = _const(_BINARY_OPERATORS[type(node.op)])
        value = self.visit(node.value)
        target = node.target
        if isinstance(target, ast.Name):
            load = ast.Name(id=target.id, ctx=ast.Load())
            assign = ast.Assign(
                targets=[ast.Name(id=target.id, ctx=ast.Store())],
                value=_run("inplace", op, load, value),
            )
            return self.located(assign, node)
        # An item: evaluate the container and the key once, like Python does.
        if not isinstance(target, ast.Subscript):  # the checker allows nothing else
            raise TypeError(f"unexpected augmented assignment target {target!r}")
        container, key = self.temporary(), self.temporary()
        if isinstance(target.slice, ast.Slice):
            bounds = [
                self.visit(b) if b is not None else _const(None)
                for b in (target.slice.lower, target.slice.upper, target.slice.step)
            ]
            key_value: ast.expr = _run("make_slice", *bounds)
        else:
            key_value = self.visit(target.slice)

        def item(ctx: ast.expr_context) -> ast.Subscript:
            return ast.Subscript(
                value=ast.Name(id=container, ctx=ast.Load()),
                slice=ast.Name(id=key, ctx=ast.Load()),
                ctx=ctx,
            )

        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(id=container, ctx=ast.Store())],
                       value=self.visit(target.value)),
            ast.Assign(targets=[ast.Name(id=key, ctx=ast.Store())], value=key_value),
            ast.Assign(targets=[item(ast.Store())],
                       value=_run("inplace", op, item(ast.Load()), value)),
        ]  # fmt: skip
        return [self.located(statement, node) for statement in statements]


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: Mode, helpers: frozenset[str]) -> types.CodeType:
    """Check, rewrite and compile one source text (cached; errors are not cached)."""
    if mode == "eval":
        _, tree = _prepare_expression(source, helpers)
    else:
        _, tree = _prepare_script(source, helpers)
    try:
        tree = ast.fix_missing_locations(_Rewriter().visit(tree))
        # "<string>" is the name SpiffWorkflow looks for to report a script's error line.
        return compile(tree, "<string>", mode, dont_inherit=True)
    except (RecursionError, MemoryError) as exc:
        raise _Rejected("source is nested too deeply") from exc
    except SyntaxError as exc:
        raise _Rejected(f"syntax error: {exc.msg}", exc.lineno) from exc


# --------------------------------------------------------------------------------------
# Timers
# --------------------------------------------------------------------------------------

# What looks like an ISO 8601 value (and is then checked by SpiffWorkflow's parser), so that
# a typo such as PT1X is reported rather than read as a variable name.
_ISO_DURATION = re.compile(r"P[0-9T][0-9A-Z.,]*")
_ISO_CYCLE = re.compile(r"R\d*/\S*|R\d+[0-9A-Z:+\-./,]*")
_ISO_DATE = re.compile(r"\d{4}-?(?:\d{2}|W\d{2})[0-9A-Za-z:+\-.,]*")


def _check_iso_timer(value: str) -> None:
    """Raise _Rejected unless SpiffWorkflow's own timer parser accepts ``value``."""
    text = value.strip()
    try:
        if text.upper().startswith("R"):
            kind = "cycle"
            if "/" not in text:
                raise ValueError("no '/'")
            TimerEventDefinition.parse_iso_recurring_interval(text)
        elif text.upper().startswith("P"):
            kind = "duration"
            if not TimerEventDefinition.parse_iso_duration(text):
                raise ValueError("no amount")
        else:
            kind = "date"
            TimerEventDefinition.parse_time_or_duration(text)
    except Exception as exc:  # SpiffWorkflow raises bare Exception for bad durations
        raise _Rejected(f"invalid ISO 8601 timer {kind} {text!r}") from exc


def _normalize_timer(source: str, helpers: frozenset[str]) -> str:
    text = source.strip()
    if any(p.fullmatch(text) for p in (_ISO_DURATION, _ISO_CYCLE, _ISO_DATE)):
        _check_iso_timer(text)
        return repr(text)
    python, tree = _prepare_expression(source, helpers)
    body = tree.body if isinstance(tree, ast.Expression) else None
    if isinstance(body, ast.Constant):
        if not isinstance(body.value, str):
            raise _Rejected("a timer value must be an ISO 8601 text or an expression")
        _check_iso_timer(body.value)
    return python


def normalize_timer_expression(
    source: str, *, element_id: str | None = None, helpers: Iterable[str] = ()
) -> str:
    """Turn a timer definition as Camunda Modeler writes it into a Python expression.

    Args:
        source: The text of ``timeDate``/``timeDuration``/``timeCycle``: an unquoted ISO
            8601 value (``PT1H``, ``R3/PT10M``, ``2026-12-01T09:00:00+08:00``), a quoted
            one, or an expression (``${dueDate}``, ``working_days(5)``).
        element_id: The timer event's id, for the error.
        helpers: Names of helper functions available besides the registered ones.

    Returns:
        A Python expression: a string literal for ISO values, else the checked expression.

    Raises:
        ScriptError: An invalid ISO value, or an expression outside the allowed subset.
    """
    try:
        return _normalize_timer(source, _all_helpers(helpers))
    except _Rejected as problem:
        raise _script_error(
            problem, element_id=element_id, source=source, multiline="\n" in source.strip()
        ) from None


@functools.lru_cache(maxsize=1024)
def _cached_timer(source: str, helpers: frozenset[str]) -> str:
    return _normalize_timer(source, helpers)


# --------------------------------------------------------------------------------------
# SpiffWorkflow integration
# --------------------------------------------------------------------------------------


def _bpmn_id(task_spec: Any) -> str | None:
    element_id = getattr(task_spec, "bpmn_id", None)
    return element_id if isinstance(element_id, str) else None


def _element_id_of(task: Any) -> str | None:
    return _bpmn_id(getattr(task, "task_spec", None))


class RestrictedEnvironment(TaskDataEnvironment):
    """Task data environment that runs only checked, metered code.

    Data semantics follow SpiffWorkflow's ``TaskDataEnvironment``: an expression sees the
    helpers, the external context and the task data (data wins); a script runs in the
    task data itself, so assigned variables stay in it, while helpers, the external
    context, builtins and callables are removed afterwards.
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        own = dict(helpers or {})
        for name, fn in own.items():
            _check_helper(name, fn)
        super().__init__()
        self._own_helpers = own
        self._version = -1
        self.helper_names: frozenset[str] = frozenset()
        self._refresh()

    def _refresh(self) -> None:
        if self._version != _helpers_version:
            with _helpers_lock:
                self.globals = {**_helpers, **self._own_helpers}
                self.helper_names = frozenset(self.globals)
                self._version = _helpers_version

    def _code(self, source: str, mode: Mode) -> types.CodeType:
        try:
            return _compile(source, mode, self.helper_names)
        except _Rejected as problem:
            raise _script_error(
                problem,
                element_id=_element_id_of(current_task.get()),
                source=source,
                multiline=mode == "exec" or "\n" in source.strip(),
            ) from None

    def normalized_timer(self, source: str) -> str:
        """The Python expression for a timer definition (see normalize_timer_expression)."""
        self._refresh()
        try:
            return _cached_timer(source, self.helper_names)
        except _Rejected as problem:
            raise _script_error(
                problem,
                element_id=_element_id_of(current_task.get()),
                source=source,
                multiline=False,
            ) from None

    @staticmethod
    def _located(error: ScriptError, source: str) -> ScriptError:
        if error.element_id is not None and error.source is not None:
            return error
        return ScriptError(
            error.reason,
            element_id=error.element_id or _element_id_of(current_task.get()),
            source=error.source or source,
        )

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Any = None
    ) -> Any:
        """Evaluate a diagram expression against task data (see the module docs)."""
        self._refresh()
        code = self._code(expression, "eval")
        self._prepare_context(context)
        namespace = {**self.globals, **(external_context or {}), **context}
        namespace["__builtins__"] = _SAFE_BUILTINS
        namespace[_RUN] = _Run()
        try:
            result = eval(code, namespace)  # noqa: S307 - checked and metered code only
        except ScriptError as exc:
            located = self._located(exc, expression)
            if located is exc:
                raise
            raise located from exc
        if not isinstance(result, bool | int | float | str | None) and (
            _deep_size(result, MAX_SIZE) is None
        ):
            raise ScriptError(
                f"expression result is too large (more than {MAX_SIZE:,} items)",
                element_id=_element_id_of(current_task.get()),
                source=expression,
            )
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a script task's script in the task data (see the module docs)."""
        self._refresh()
        external = external_context or {}
        self.check_for_overwrite(context, external)
        code = self._code(script, "exec")
        self._prepare_context(context)
        context.update(self.globals)
        context.update(external)
        context["__builtins__"] = _SAFE_BUILTINS
        context[_RUN] = _Run()
        try:
            exec(code, context)  # noqa: S102 - checked and metered code only
        except ScriptError as exc:
            located = self._located(exc, script)
            if located is exc:
                raise
            raise located from exc
        finally:
            self._remove_globals_and_functions_from_context(context, external)
            for name in [k for k in context if isinstance(k, str)]:
                if name.startswith(_RESERVED_PREFIX):
                    del context[name]
        self._check_task_data(context, script)
        return True

    @staticmethod
    def _check_task_data(context: dict[str, Any], script: str) -> None:
        remaining = MAX_SIZE
        dropped: list[str] = []
        for name, value in list(context.items()):
            size = _deep_size(value, remaining)
            if size is None:
                dropped.append(str(name))
                del context[name]
            else:
                remaining -= size
        if dropped:
            raise ScriptError(
                f"script left too much task data (more than {MAX_SIZE:,} items); "
                f"dropped: {', '.join(dropped)}",
                element_id=_element_id_of(current_task.get()),
                source=script,
            )


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow script engine for diagrams: checked, metered, no escape to Python.

    Args:
        helpers: Functions diagrams may call by name, besides those registered with
            :func:`register_helper`. They never end up in task data.
    """

    environment: RestrictedEnvironment

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(environment=RestrictedEnvironment(helpers))

    @property
    def helper_names(self) -> frozenset[str]:
        """Names of every helper this engine's diagrams may call."""
        self.environment._refresh()
        return self.environment.helper_names

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate an expression for a task, with :data:`current_task` set to it."""
        token = current_task.set(task)
        try:
            event_definition = getattr(task.task_spec, "event_definition", None)
            if (
                isinstance(event_definition, TimerEventDefinition)
                and expression == event_definition.expression
            ):
                try:
                    expression = self.environment.normalized_timer(expression)
                except ScriptError as exc:
                    raise WorkflowTaskException(
                        f"Error evaluating expression '{expression}'", task=task, exception=exc
                    ) from exc
            return super().evaluate(task, expression, external_context)
        finally:
            current_task.reset(token)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        """Run a script for a task, with :data:`current_task` set to it."""
        token = current_task.set(task)
        try:
            return super().execute(task, script, external_context)
        finally:
            current_task.reset(token)


# --------------------------------------------------------------------------------------
# Finding our errors in SpiffWorkflow's
# --------------------------------------------------------------------------------------

_EVALUATING = re.compile(r"Error evaluating expression '(.*)'", re.DOTALL)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        item = queue.pop(0)
        if id(item) in seen:
            continue
        seen.add(id(item))
        chain.append(item)
        linked = [item.__cause__, item.__context__, getattr(item, "error", None)]
        linked.extend(getattr(item, "exceptions", None) or ())
        queue.extend(e for e in linked if isinstance(e, BaseException))
    return chain


def _raised_in_diagram_code(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<string>":
            return True
        tb = tb.tb_next
    return False


def script_error_from(exc: BaseException) -> ScriptError | None:
    """Find the diagram error behind an exception SpiffWorkflow raised.

    Args:
        exc: What ``do_engine_steps()``, ``task.run()`` or an evaluation raised.

    Returns:
        Our :class:`ScriptError` from the chain (with the element id filled in from the
        wrapping SpiffWorkflow exception if it had none), a new ScriptError describing a
        plain Python error raised by diagram code (``NameError``, ``TypeError`` …), or
        None if the exception did not come from a diagram expression or script.
    """
    chain = _exception_chain(exc)
    element_id: str | None = None
    source: str | None = None
    line: int | None = None
    wrapped = False
    for item in chain:
        task_spec = getattr(getattr(item, "task", None), "task_spec", None) or getattr(
            item, "task_spec", None
        )
        element_id = element_id or _bpmn_id(task_spec)
        if isinstance(item, WorkflowTaskException):
            wrapped = True
            line = line or item.line_number or None
            match = _EVALUATING.match(str(item.args[0])) if item.args else None
            script = getattr(task_spec, "script", None)
            if source is None and match:
                source = match.group(1)
            elif source is None and isinstance(script, str):
                source = script
    for item in chain:
        if isinstance(item, ScriptError):
            if item.element_id is not None or element_id is None:
                return item
            located = ScriptError(item.reason, element_id=element_id, source=item.source or source)
            located.__cause__ = item
            return located
    for item in chain:
        if (
            isinstance(item, Exception)
            and not isinstance(item, SpiffWorkflowException | XiaonengError)
            and (wrapped or _raised_in_diagram_code(item))
        ):
            message = f"{type(item).__name__}: {item}"
            if line:
                message += f" (line {line})"
            converted = ScriptError(message, element_id=element_id, source=source)
            converted.__cause__ = item
            return converted
    return None
