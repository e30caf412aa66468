"""The restricted environment for diagram expressions, scripts and timers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine import scripting
from engine.errors import ScriptError
from engine.scripting import (
    RestrictedEnvironment,
    RestrictedScriptEngine,
    check_expression,
    check_script,
    current_task,
    normalize_timer_expression,
    register_helper,
    script_error_from,
    translate_expression,
    unregister_helper,
)


def _same_python(actual: str, expected: str) -> bool:
    return ast.dump(ast.parse(actual, mode="eval")) == ast.dump(ast.parse(expected, mode="eval"))


def _evaluate(source: str, **data: Any) -> Any:
    return RestrictedEnvironment().evaluate(source, data)


def _execute(source: str, **data: Any) -> dict[str, Any]:
    RestrictedEnvironment().execute(source, data)
    return data


# --------------------------------------------------------------------------------------
# JUEL translation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("${approved}", "approved"),
        ("${amount > 1000 && urgent}", "amount > 1000 and urgent"),
        ("${!rejected}", "not rejected"),
        ("${a || b}", "a or b"),
        ("${x == 'yes'}", "x == 'yes'"),
        ('${x == "yes"}', "x == 'yes'"),
        ("${x != 'no'}", "x != 'no'"),
        ("${a eq b}", "a == b"),
        ("${a ne b}", "a != b"),
        ("${a lt b && c gt d}", "a < b and c > d"),
        ("${a le b or c ge d}", "a <= b or c >= d"),
        ("${not a and b}", "(not a) and b"),
        ("${true}", "True"),
        ("${done == false}", "done == False"),
        ("${x == null}", "x == None"),
        ("${empty list}", "list in (None, '', [], {}, ())"),
        ("${a div b mod c}", "(a / b) % c"),
        ("${-x + 3 * (y - 1)}", "(-x) + 3 * (y - 1)"),
        ("${ok ? 'yes' : 'no'}", "'yes' if ok else 'no'"),
        ("${a ? 1 : b ? 2 : 3}", "1 if a else (2 if b else 3)"),
        ("${order.amount > 5}", "order['amount'] > 5"),
        ("${name.lower() == 'x'}", "name.lower() == 'x'"),
        ("${items[0]}", "items[0]"),
        ("${working_days(5)}", "working_days(5)"),
        ("${[1, 2]}", "[1, 2]"),
        ("#{a && b}", "a and b"),
        ("  ${ amount >= 1000 }  ", "amount >= 1000"),
        ("${a == b == c}", "(a == b) == c"),
        ("${'it\\'s' == x}", '"it\'s" == x'),
        # no ${...}: invalid Python is read as JUEL
        ("amount > 1000 && urgent", "amount > 1000 and urgent"),
        ("!rejected", "not rejected"),
    ],
)
def test_translate_expression_table(juel: str, python: str) -> None:
    translated = translate_expression(juel)
    assert _same_python(translated, python)
    assert translate_expression(translated) == translated  # the output is plain Python


@pytest.mark.parametrize(
    "python",
    ["approved == True", "amount > 1000 and urgent", "not a == b", "x in ['a', 'b']",
     "'${a}' == x", "f'{x}' != y"],
)  # fmt: skip
def test_translate_passes_python_through_unchanged(python: str) -> None:
    assert translate_expression(f"  {python}\n") == python


def test_translate_leaves_operators_inside_string_literals_alone() -> None:
    python = translate_expression("${x == 'a && b || !c eq d' && y != 'null'}")
    assert _same_python(python, "x == 'a && b || !c eq d' and y != 'null'")


def test_translate_gives_not_juel_precedence() -> None:
    # JUEL reads (!a) == 1; a naive "not a == 1" would be not (a == 1), i.e. True
    assert _evaluate(check_expression("${!a == 1}"), a=5) is False


@pytest.mark.parametrize(
    ("juel", "named"),
    [
        ("${a = 1}", "'='"),
        ("${a; b}", "';'"),
        ("${x -> x}", "'->'"),
        ("${a += b}", "'+='"),
        ("${a instanceof B}", "'instanceof'"),
        ("${a} && ${b}", "single ${...}"),
        ("Total: ${a}", "'$'"),
        ("${}", "empty expression"),
        ("${'open}", "unterminated string"),
        ("${a &&}", "unexpected end"),
        ("${a @ b}", "'@'"),
        ("${x in list}", "'in'"),
    ],
)
def test_translate_rejects_juel_outside_the_subset(juel: str, named: str) -> None:
    with pytest.raises(ScriptError) as info:
        translate_expression(juel)
    assert named in info.value.reason


# --------------------------------------------------------------------------------------
# Static checks
# --------------------------------------------------------------------------------------


def test_expression_rejects_dunder_attribute() -> None:
    with pytest.raises(ScriptError) as info:
        check_expression("x.__class__", element_id="flow_yes")
    assert info.value.reason == "attribute names starting with '_' are not allowed ('__class__')"
    assert info.value.element_id == "flow_yes"
    assert info.value.source == "x.__class__"


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("().__class__.__base__.__subclasses__()", "starting with '_'"),
        ("'{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
        ("'{x}'.format_map(d)", "attribute 'format_map' is not allowed"),
        ("__import__('os')", "'__import__'"),
        ("open('/etc/passwd')", "name 'open' is not available"),
        ("getattr(x, '_' + '_class__')", "name 'getattr' is not available"),
        ("f'{x.__class__}'", "starting with '_'"),
        ("f'{x!r:{spec}}'", "format specs must be constant"),
        ("f'{x:>1000000000}'", "format width"),
        ("import os", "import is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("${x.__class__()}", "'__class__'"),
        ("eval('1')", "name 'eval' is not available"),
        ("exec", "name 'exec' is not available"),
        ("type(x)", "name 'type' is not available"),
        ("vars()", "name 'vars' is not available"),
        ("globals()['x']", "name 'globals' is not available"),
        ("print(x)", "name 'print' is not available"),
        ("x.mro()", "attribute 'mro' is not allowed"),
        ("g.gi_frame.f_globals", "attribute 'f_globals' is not allowed"),
        ("x._private", "starting with '_'"),
        ("_", "names starting with '_'"),
        ("d.get(_secret)", "names starting with '_'"),
        ("dict(_x=1)", "names starting with '_'"),
        ("items.append(1)", "changes data"),
        ("(y := 1)", ":="),
        ("b'abc'", "bytes"),
        ("1j", "complex"),
        ("x @ y", "@"),
        ("x = 1", "statements are not allowed"),
        ("x is 1", "'=='"),
        ("[len for len in items]", "cannot assign to 'len'"),
    ],
)
def test_expression_rejects_escapes(source: str, named: str) -> None:
    with pytest.raises(ScriptError) as info:
        check_expression(source)
    assert named in info.value.reason


def test_juel_property_of_a_map_is_a_key_lookup() -> None:
    # ${x.__class__} reads the key "__class__" of a map, which is harmless
    assert check_expression("${x.__class__}") == "x['__class__']"
    assert _evaluate("x['__class__']", x={"__class__": 1}) == 1


def test_expression_may_read_data_named_like_builtins() -> None:
    # a form field called "type" or "id" is data: at run time no such builtin exists
    assert check_expression("type == 'A' and id > 3") == "type == 'A' and id > 3"
    assert _evaluate("type == 'A' and id > 3", type="A", id=4) is True


def test_expression_allows_safe_builtins_and_methods() -> None:
    source = "len(items) > 0 and sorted(set(tags))[0].upper().startswith('A') and d.get('k')"
    assert check_expression(source) == source
    assert _evaluate(source, items=[1], tags=["ab", "b"], d={"k": 1}) == 1


def test_check_script_accepts_the_documented_subset() -> None:
    script = """
        total = 0
        first, *rest = items
        for i, item in enumerate(items):
            if item > 2:
                continue
            elif item == 2:
                pass
            else:
                total += item
        n = 0
        while n < 3:
            n += 1
            if n == 2:
                break
        else:
            n = -1
        d = {'a': [1]}
        d['a'][0:0] = [0]
        d['a'] += [2]
        d.update(b=2)
        del d['b']
        tmp = 1
        del tmp
        names = [str(x) for x in rest if x]
        summary = f'{total:>5}|{len(names)}'
    """
    assert check_script(script).startswith("\ntotal = 0\n")
    data = _execute(script, items=[1, 2, 3])
    assert data["total"] == 1
    assert data["n"] == 2
    assert data["d"] == {"a": [0, 1, 2]}
    assert data["summary"] == "    1|2"
    assert "tmp" not in data


@pytest.mark.parametrize(
    ("script", "named"),
    [
        ("import os", "import is not allowed"),
        ("from os import path", "import is not allowed"),
        ("def f():\n    return 1", "def"),
        ("f = lambda: 1", "lambda is not allowed"),
        ("class A:\n    pass", "class"),
        ("with x:\n    pass", "with is not allowed"),
        ("try:\n    pass\nexcept Exception:\n    pass", "try is not allowed"),
        ("raise ValueError", "raise is not allowed"),
        ("assert x", "assert is not allowed"),
        ("global x", "global is not allowed"),
        ("nonlocal x", "nonlocal is not allowed"),
        ("yield 1", "yield is not allowed"),
        ("await x", "await is not allowed"),
        ("return 1", "return is not allowed"),
        ("async def f():\n    pass", "async def is not allowed"),
        ("x: int = 1", "annotated"),
        ("match x:\n    case 1:\n        pass", "match is not allowed"),
        ("break", "break outside a loop"),
        ("x.y = 1", "assigning to attributes"),
        ("len = 3", "cannot assign to 'len'"),
        ("for d['k'] in items:\n    pass", "loop variables must be names"),
        ("a, l[0:1] = 1, [2]", "slice"),
        ("x = d.format(1)", "attribute 'format' is not allowed"),
    ],
)
def test_check_script_rejects_statements_outside_the_subset(script: str, named: str) -> None:
    with pytest.raises(ScriptError) as info:
        check_script(script, element_id="calc")
    assert named in info.value.reason
    assert info.value.element_id == "calc"


def test_check_script_names_the_line() -> None:
    with pytest.raises(ScriptError) as info:
        check_script("x = 1\ny = 2\nimport os\n")
    assert info.value.reason == "import is not allowed (line 3)"


def test_check_script_refuses_assigning_to_a_helper() -> None:
    with pytest.raises(ScriptError, match="it is a helper function"):
        check_script("working_days = 3", helpers=["working_days"])


# --------------------------------------------------------------------------------------
# Bounded execution
# --------------------------------------------------------------------------------------


def test_infinite_loop_exceeds_step_budget() -> None:
    with pytest.raises(ScriptError, match="script exceeded its step budget"):
        _execute("while True:\n    pass")


def test_endless_for_over_a_growing_list_exceeds_step_budget() -> None:
    with pytest.raises(ScriptError, match="step budget"):
        _execute("l = [1]\nfor x in l:\n    l.append(x)")


def test_comprehension_iterations_count_as_steps() -> None:
    with pytest.raises(ScriptError, match="step budget"):
        _evaluate("len([x for x in range(100000) for y in range(2)])")


def test_tower_of_powers_is_refused() -> None:
    with pytest.raises(ScriptError, match="exponent is too large"):
        _execute("x = 10 ** 10 ** 10")


@pytest.mark.parametrize("source", ["'a' * 10**9", "[0] * 10**9", "10**9 * (0,)"])
def test_repetition_bombs_are_refused(source: str) -> None:
    with pytest.raises(ScriptError, match="result is too large"):
        _evaluate(source)


def test_huge_range_is_refused() -> None:
    with pytest.raises(ScriptError, match="range is too large"):
        _evaluate("sum(range(10**12))")


@pytest.mark.parametrize(
    "source",
    ["x = 2\nfor i in range(100):\n    x = x * x", "x = 1 << 10**6", "x = 7 ** 1000 * 7 ** 1000",
     "x = int('9' * 4000)"],
)  # fmt: skip
def test_huge_integers_are_refused(source: str) -> None:
    with pytest.raises(ScriptError, match="number is too large"):
        _execute(source)


@pytest.mark.parametrize(
    "step",
    ["s = s + s", "s += s", "l = l + l", "l.extend(l)", "l[0:0] = l", "l = [*l, *l]",
     "l *= 2", "s = s.replace('a', 'aa')", "s = s.join([s, s])", "s = f'{s}{s}'"],
)  # fmt: skip
def test_doubling_loops_are_refused(step: str) -> None:
    script = f"s = 'a'\nl = [1]\nd = {{}}\nfor i in range(60):\n    {step}"
    with pytest.raises(ScriptError, match="too large"):
        _execute(script)


def test_retained_copies_exhaust_the_memory_budget() -> None:
    script = "s = 'x' * 900000\nkept = []\nfor i in range(1000):\n    kept.append(s[1:])"
    with pytest.raises(ScriptError, match="memory budget"):
        _execute(script)


def test_aliased_structure_cannot_expand_into_text() -> None:
    script = "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000\n"
    for render in ("t = str(c)", "t = f'{c}'", "t = '%s' % (c,)"):
        with pytest.raises(ScriptError, match="value to turn into text is too large"):
            _execute(script + render)


def test_script_cannot_leave_oversized_task_data() -> None:
    data: dict[str, Any] = {"keep": 1}
    with pytest.raises(ScriptError, match="dropped: b, c") as info:
        RestrictedEnvironment().execute("a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000", data)
    assert "too much task data" in info.value.reason
    assert sorted(data) == ["a", "keep"]


def test_percent_format_width_is_bounded() -> None:
    with pytest.raises(ScriptError, match="format width"):
        _evaluate("'%1000000000d' % 1")
    with pytest.raises(ScriptError, match="'\\*' widths"):
        _evaluate("'%*d' % (10**8, 1)")
    assert _evaluate("'%(n)s!' % d", d={"n": "x"}) == "x!"
    assert _evaluate("'%05.1f' % x", x=2.25) == "002.2"


def test_sum_adds_numbers_only() -> None:
    with pytest.raises(ScriptError, match="sum\\(\\) adds numbers only"):
        _evaluate("sum([[1]] * 1000, [])")
    assert _evaluate("sum(x['n'] for x in rows)", rows=[{"n": 1}, {"n": 2.5}]) == 3.5


def test_ordinary_scripts_stay_within_the_limits() -> None:
    script = (
        "rows = [{'n': i, 'name': 'row %d' % i} for i in range(20000)]\n"
        "total = 0\n"
        "for row in rows:\n"
        "    total += row['n']\n"
        "names = ','.join(r['name'] for r in rows[:100])\n"
        "big = 2 ** 1000\n"
        "text = 'ab' * 200000\n"
    )
    data = _execute(script)
    assert data["total"] == sum(range(20000))
    assert data["names"].startswith("row 0,row 1,")
    assert len(data["text"]) == 400_000


# --------------------------------------------------------------------------------------
# Run-time guards and data semantics
# --------------------------------------------------------------------------------------


def test_runtime_checks_attributes_by_type() -> None:
    with pytest.raises(ScriptError, match="attribute 'year' is not allowed on str"):
        _evaluate("d.year", d="2026-01-01")
    with pytest.raises(ScriptError, match="attribute 'get' is not allowed on type"):
        _evaluate("dict.get({}, 'a')")
    assert _evaluate("d.year * 100 + d.month", d=date(2026, 3, 1)) == 202603


def test_bound_methods_stay_guarded_when_stored() -> None:
    data = _execute("f = s.replace\nt = f('a', 'b')", s="aa")
    assert data["t"] == "bb"
    assert "f" not in data  # callables never stay in task data
    with pytest.raises(ScriptError, match="too large"):
        _execute("f = s.replace\nt = f('a', 'a' * 1000)", s="a" * 10_000)


def test_task_data_cannot_replace_builtins_or_the_meter() -> None:
    data = {"__builtins__": {"type": type}, "_xn_run": "hijack", "x": [1, 2]}
    assert RestrictedEnvironment().evaluate("len(x) + x[1:][0]", dict(data)) == 4
    with pytest.raises(NameError, match="'type' is not defined"):
        RestrictedEnvironment().evaluate("type", dict(data))


def test_script_assignments_land_in_task_data_and_helpers_do_not() -> None:
    env = RestrictedEnvironment({"double": lambda x: 2 * x})
    data: dict[str, Any] = {"amount": 21}
    env.execute("total = double(amount)\nf = len\ndel amount", data)
    assert data == {"total": 42}


def test_task_data_overwriting_a_helper_is_refused_like_spiffworkflow() -> None:
    env = RestrictedEnvironment({"double": lambda x: 2 * x})
    with pytest.raises(ValueError, match="overwrites a predefined function"):
        env.execute("x = 1", {"double": 3})


@pytest.fixture
def shout() -> Iterator[str]:
    register_helper("shout", lambda text: text.upper() + "!")
    yield "shout"
    unregister_helper("shout")


def test_registered_helpers_are_accepted_and_callable(shout: str) -> None:
    assert check_expression(f"{shout}(name)") == "shout(name)"
    assert RestrictedEnvironment().evaluate("shout(name)", {"name": "hi"}) == "HI!"
    with pytest.raises(ScriptError, match="it is a helper function"):
        check_script("shout = 1")


def test_register_helper_refuses_reserved_names() -> None:
    with pytest.raises(ValueError, match="must not start with '_'"):
        register_helper("_xn_run", len)
    with pytest.raises(ValueError, match="identifier"):
        register_helper("not valid", len)


def test_unregistered_helper_is_no_longer_callable() -> None:
    register_helper("temporary_helper", lambda: 1)
    assert RestrictedEnvironment().evaluate("temporary_helper()", {}) == 1
    unregister_helper("temporary_helper")
    with pytest.raises(NameError):
        RestrictedEnvironment().evaluate("temporary_helper()", {})


# --------------------------------------------------------------------------------------
# Timers
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["PT1H", "P5D", "P1DT2H", "PT30M", "P1W", "R3/PT10M", "R/P1D",
     "2026-12-01T09:00:00+08:00", "2026-12-01", "2026-12-01T09:00:00Z"],
)  # fmt: skip
def test_normalize_timer_quotes_iso_values(value: str) -> None:
    assert normalize_timer_expression(f"  {value}\n") == repr(value)


@pytest.mark.parametrize(
    ("source", "python"),
    [("'PT1H'", "'PT1H'"), ('"R3/PT10M"', '"R3/PT10M"'), ("${dueDate}", "dueDate"),
     ("working_days(5)", "working_days(5)"),
     ("due if urgent else 'P2D'", "due if urgent else 'P2D'")],
)  # fmt: skip
def test_normalize_timer_checks_literals_and_expressions(source: str, python: str) -> None:
    assert normalize_timer_expression(source, helpers=["working_days"]) == python


@pytest.mark.parametrize(
    ("source", "named"),
    [("PT1X", "invalid ISO 8601 timer duration"), ("PT", "invalid ISO 8601 timer duration"),
     ("'P5Q'", "invalid ISO 8601 timer duration"), ("R3PT10M", "invalid ISO 8601 timer cycle"),
     ("2026-13-01", "invalid ISO 8601 timer date"), ("5", "ISO 8601 text"),
     ("open('x')", "name 'open' is not available")],
)  # fmt: skip
def test_normalize_timer_rejects_invalid_values(source: str, named: str) -> None:
    with pytest.raises(ScriptError) as info:
        normalize_timer_expression(source, element_id="wait_a_day")
    assert named in info.value.reason
    assert info.value.element_id == "wait_a_day"


# --------------------------------------------------------------------------------------
# SpiffWorkflow end to end
# --------------------------------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="enter_request"/>
    <bpmn:userTask id="enter_request" name="Enter request" camunda:assignee="clerk"/>
    <bpmn:sequenceFlow id="f2" sourceRef="enter_request" targetRef="{first}"/>
    {body}
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

ROUTING = """
    <bpmn:scriptTask id="compute_total" scriptFormat="python">
      <bpmn:script>
        total = sum(item['price'] * item['qty'] for item in items)
        amount = total
        label = stamp(str(total))
      </bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="compute_total" targetRef="route"/>
    <bpmn:exclusiveGateway id="route"/>
    <bpmn:sequenceFlow id="to_escalate" sourceRef="route" targetRef="escalate">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >${amount &gt; 1000 &amp;&amp; urgent}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_standard" sourceRef="route" targetRef="standard">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >${!(amount &gt; 1000 &amp;&amp; urgent)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:scriptTask id="escalate"><bpmn:script>route = 'escalated'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="standard"><bpmn:script>route = 'standard'</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="escalate" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="standard" targetRef="end"/>
"""


def _script_process(script: str) -> str:
    return f"""
    <bpmn:scriptTask id="bad_script"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="bad_script" targetRef="end"/>
    """


def _workflow(body: str, first: str, engine: RestrictedScriptEngine | None = None) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(BPMN.format(pid="demo", first=first, body=body).encode(), "demo.bpmn")
    return BpmnWorkflow(
        parser.get_spec("demo"),
        parser.get_subprocess_specs("demo"),
        script_engine=engine or RestrictedScriptEngine(),
    )


def _restore(workflow: BpmnWorkflow, engine: RestrictedScriptEngine) -> BpmnWorkflow:
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    restored = serializer.deserialize_json(serializer.serialize_json(workflow))
    restored.script_engine = engine  # the engine is not part of the serialization
    return restored


def _complete_request(workflow: BpmnWorkflow, **data: Any) -> None:
    workflow.do_engine_steps()
    (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec.bpmn_id == "enter_request"
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


@pytest.mark.parametrize(
    ("qty", "urgent", "route"),
    [(600, True, "escalated"), (600, False, "standard"), (10, True, "standard")],
)
def test_camunda_diagram_runs_conditions_and_scripts(qty: int, urgent: bool, route: str) -> None:
    seen: list[str] = []

    def stamp(text: str) -> str:
        seen.append(current_task.get().task_spec.bpmn_id)
        return f"#{text}"

    engine = RestrictedScriptEngine(helpers={"stamp": stamp})
    workflow = _workflow(ROUTING, "compute_total", engine)
    workflow.do_engine_steps()
    workflow = _restore(workflow, engine)
    _complete_request(workflow, items=[{"price": 2, "qty": qty}], urgent=urgent)
    assert workflow.is_completed()
    data = workflow.last_task.data
    assert data["route"] == route
    assert data["label"] == f"#{2 * qty}"
    assert "stamp" not in data
    assert "__builtins__" not in data
    assert not [key for key in data if key.startswith("_")]
    assert seen == ["compute_total"]
    assert current_task.get() is None


def test_diagram_import_fails_with_script_error() -> None:
    workflow = _workflow(_script_process("import os\nos.popen('id')"), "bad_script")
    with pytest.raises(WorkflowTaskException) as info:
        _complete_request(workflow)
    error = script_error_from(info.value)
    assert isinstance(error, ScriptError)
    assert error.reason == "import is not allowed (line 1)"
    assert error.element_id == "bad_script"
    (failed,) = workflow.get_tasks(state=TaskState.ERROR)
    assert failed.task_spec.bpmn_id == "bad_script"


def test_diagram_infinite_loop_fails_with_script_error() -> None:
    workflow = _workflow(_script_process("n = 0\nwhile True:\n    n += 1"), "bad_script")
    with pytest.raises(WorkflowTaskException) as info:
        _complete_request(workflow)
    error = script_error_from(info.value)
    assert error is not None
    assert "step budget" in error.reason
    assert error.element_id == "bad_script"


def test_condition_runtime_error_becomes_script_error_of_the_gateway() -> None:
    body = ROUTING.replace("amount = total", "amount = 'lots'")
    workflow = _workflow(body, "compute_total", RestrictedScriptEngine({"stamp": str}))
    with pytest.raises(WorkflowException) as info:
        _complete_request(workflow, items=[], urgent=True)
    error = script_error_from(info.value)
    assert error is not None
    assert error.reason.startswith("TypeError: '>' not supported")
    assert error.element_id == "route"
    assert error.source == "${amount > 1000 && urgent}"


def test_script_name_error_becomes_script_error_with_line() -> None:
    workflow = _workflow(_script_process("x = 1\ny = missing + 1"), "bad_script")
    with pytest.raises(WorkflowTaskException) as info:
        _complete_request(workflow)
    error = script_error_from(info.value)
    assert error is not None
    assert error.reason == "NameError: name 'missing' is not defined (line 2)"
    assert error.element_id == "bad_script"


def test_unquoted_camunda_timer_runs() -> None:
    body = """
    <bpmn:intermediateCatchEvent id="wait_an_hour">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait_an_hour" targetRef="end"/>
    """
    workflow = _workflow(body, "wait_an_hour")
    _complete_request(workflow)
    (event,) = workflow.waiting_events()
    assert event.event_type == "DurationTimerEventDefinition"
    assert not workflow.is_completed()


def test_invalid_timer_fails_with_script_error_of_the_event() -> None:
    body = """
    <bpmn:intermediateCatchEvent id="wait_badly">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1X</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait_badly" targetRef="end"/>
    """
    workflow = _workflow(body, "wait_badly")
    with pytest.raises(WorkflowTaskException) as info:
        _complete_request(workflow)
    error = script_error_from(info.value)
    assert error is not None
    assert error.reason == "invalid ISO 8601 timer duration 'PT1X'"
    assert error.element_id == "wait_badly"


def test_script_error_from_ignores_unrelated_errors() -> None:
    assert script_error_from(ValueError("not from a diagram")) is None
    assert script_error_from(WorkflowException("no diagram code involved")) is None


def test_script_error_from_finds_a_chained_script_error() -> None:
    original = ScriptError("boom", element_id="calc")
    middle = RuntimeError("wrapped")
    middle.__cause__ = original
    outer = WorkflowException("outer")
    outer.__context__ = middle
    assert script_error_from(outer) is original


def test_module_exports_the_documented_api() -> None:
    assert set(scripting.__all__) >= {
        "RestrictedScriptEngine", "check_expression", "check_script", "current_task",
        "normalize_timer_expression", "register_helper", "script_error_from",
        "translate_expression",
    }  # fmt: skip
