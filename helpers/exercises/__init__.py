"""Exercise checks with instant feedback.

Each chapter module (``helpers.exercises.ch02`` …) defines ``Exercise`` objects. In a
notebook the student replaces ``...`` in a starter cell and runs the check::

    from helpers.exercises.ch02 import ex1
    model = ...          # your code here
    ex1.check(model)     # ✅ correct / ⏳ not yet attempted / ❌ not quite, with a reason
    ex1.hint()           # a nudge
    ex1.solution()       # the reference solution, on demand

In Jupyter the result of a check is shown as a small coloured block (``text/html``) with
the same words as its plain-text form (``text/plain``), which terminals and nbval use.

A checker is a function of the student's answer. It returns an optional success detail,
or raises :class:`Incorrect` with a reason that helps (never the solution), or
:class:`NotAttempted`. Any other exception raised while checking becomes an "incorrect"
result with a one-line reason: the student never sees a traceback from a check.
"""

from __future__ import annotations

import enum
import html
import inspect
import linecache
import re
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Exercise",
    "Result",
    "Status",
    "Incorrect",
    "NotAttempted",
    "expect_array",
    "expect_close",
    "expect_callable",
    "expect_fitted",
    "expect_type",
    "call_student",
    "expect_returned",
    "a_type",
]


class Status(enum.Enum):
    CORRECT = "correct"
    NOT_ATTEMPTED = "not attempted"
    INCORRECT = "incorrect"


_ICONS = {Status.CORRECT: "✅ Correct!", Status.NOT_ATTEMPTED: "⏳ Not yet attempted:",
          Status.INCORRECT: "❌ Not quite:"}


@dataclass(frozen=True)
class Result:
    """The outcome of a check: a status and a message for the student."""

    exercise: str
    status: Status
    message: str

    def __bool__(self) -> bool:
        return self.status is Status.CORRECT

    def __str__(self) -> str:
        return f"{_ICONS[self.status]} {self.message}".rstrip()

    def _repr_html_(self) -> str:
        return _result_html(self)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": _result_html(self)}


# Colours of the result block: a border of the status colour and a faint tint of it. The label
# keeps the theme's text colour, which reads with enough contrast on light and dark themes alike
# (a label in the status colour on its own tint does not); the icon and the words say the status.
_COLOURS = {Status.CORRECT: "46, 160, 67", Status.NOT_ATTEMPTED: "191, 135, 0",
            Status.INCORRECT: "207, 34, 46"}
_CODE = re.compile(r"`([^`]+)`")


def message_html(message: str) -> str:
    """A check's message as HTML: escaped, with `code` in backticks shown as code."""
    return _CODE.sub(r"<code>\1</code>", html.escape(str(message)))


def _result_html(result: Result) -> str:
    """The check's result as a small styled block (deterministic, so nbval can compare it)."""
    rgb = _COLOURS[result.status]
    head, _, _ = _ICONS[result.status].partition(" ")
    label = _ICONS[result.status][len(head) + 1:]
    message = message_html(result.message)
    style = (f"border-left: 4px solid rgb({rgb}); background: rgba({rgb}, 0.10); "
             "padding: 6px 10px; margin: 2px 0; border-radius: 3px; "
             "white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.4")
    return (f'<div class="course-check" style="{style}">{head} '
            f'<strong>{html.escape(label)}</strong> {message}</div>')


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (which renders rich output), False in a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


class Incorrect(Exception):
    """Raised by a checker: the answer is wrong, and the message says why."""


class NotAttempted(Exception):
    """Raised by a checker when the answer is still the starter placeholder."""


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Exercise:
    """One coding exercise: a checker, a hint and a reference solution.

    ``solution`` is the code a student could paste into the starter cell at that point of
    the notebook: it assigns the answer to the starter cell's variable, named by
    ``defines``. ``solution()`` shows it, and the test suite runs that very text (see
    :meth:`reference_answer`) to prove that the code shown passes ``check``.
    """

    def __init__(self, name: str, title: str, checker: Callable[[Any], str | None],
                 hint: str, solution: str, defines: str):
        self.name = name
        self.title = title
        self.defines = defines
        self._checker = checker
        self._hint = inspect.cleandoc(hint)
        self._solution = textwrap.dedent(solution).strip("\n") + "\n"

    def __repr__(self) -> str:
        return f"<Exercise {self.name}: {self.title}>"

    def evaluate(self, answer: Any = ...) -> Result:
        """Check ``answer`` and return a :class:`Result` (never raises)."""
        if answer is ...:
            return Result(self.name, Status.NOT_ATTEMPTED,
                          "replace the `...` with your answer, then run this cell again.")
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                detail = self._checker(answer)
        except NotAttempted as exc:
            return Result(self.name, Status.NOT_ATTEMPTED,
                          str(exc) or "replace the `...` with your answer, then run this cell again.")
        except Incorrect as exc:
            return Result(self.name, Status.INCORRECT, str(exc))
        except Exception as exc:  # noqa: BLE001 - a check must never show a traceback
            return Result(self.name, Status.INCORRECT,
                          f"checking your answer failed with {_short(exc)}")
        return Result(self.name, Status.CORRECT, detail or "")

    def check(self, answer: Any = ...) -> None:
        """Show whether ``answer`` is correct, not yet attempted, or wrong (and why).

        In a notebook this displays one output with a styled ``text/html`` form and the
        plain ``text/plain`` form; elsewhere it prints the plain text. The result is also
        added to the student's progress log (:mod:`helpers.progress`).
        """
        result = self.evaluate(answer)
        if _in_notebook():
            from IPython.display import display

            display(result._repr_mimebundle_(), raw=True)
        else:
            print(result)
        _record(self, result)

    def hint(self) -> None:
        """Print a hint."""
        print(f"💡 Hint for {self.name}: {self._hint}")

    def solution_source(self) -> str:
        """The reference solution: code for the starter cell, defining ``self.defines``."""
        return self._solution

    def solution(self) -> None:
        """Show the reference solution."""
        source = self.solution_source()
        intro = (f"Reference solution for {self.name} (paste it into the starter cell, in place "
                 f"of `{self.defines} = ...`):")
        if _in_notebook():
            from IPython.display import Markdown, display

            display(Markdown(f"**{intro}**\n\n```python\n{source}```"))
            return
        print(f"{intro}\n\n{source}")

    def reference_answer(self) -> Any:
        """Run the solution's code, exactly as shown, and return what it defines (for tests)."""
        filename = f"<solution of {self.name}>"
        # Registered like a file, so that inspect.getsource (and TensorFlow's AutoGraph, which
        # reads the source of a @tf.function) finds the code of what the solution defines.
        linecache.cache[filename] = (len(self._solution), None,
                                     self._solution.splitlines(keepends=True), filename)
        namespace: dict[str, Any] = {"__name__": f"solution_{self.name}"}
        exec(compile(self._solution, filename, "exec"), namespace)  # noqa: S102
        if self.defines not in namespace:
            raise RuntimeError(f"the solution of {self.name} does not define {self.defines}")
        return namespace[self.defines]


def _record(exercise: Exercise, result: Result) -> None:
    """Add a check's result to the student's progress log (helpers.progress); never raises."""
    try:
        from helpers import progress

        progress.record(exercise, result)
    except Exception:  # noqa: BLE001 - recording progress must never break a check
        pass


# --------------------------------------------------------------------------- checker tools


def a_type(value: Any) -> str:
    """'an int', 'a list', 'an ndarray': the type of ``value`` with its article."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _refuse_class(answer: Any, what: str) -> None:
    """A class where an object was expected is a common slip: say how to fix it."""
    if isinstance(answer, type):
        raise Incorrect(f"expected {what}, got the class {answer.__name__} itself: create one "
                        f"({answer.__name__}(...)), fit it if needed, and pass that object.")


def expect_type(answer: Any, types, what: str) -> None:
    """Raise Incorrect unless ``answer`` is an instance of ``types``."""
    _refuse_class(answer, what)
    if not isinstance(answer, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise Incorrect(f"expected {what} ({names}), got {a_type(answer)}.")


def expect_callable(answer: Any, what: str = "a function") -> None:
    if not callable(answer):
        raise Incorrect(f"expected {what}, got {a_type(answer)}.")


def expect_fitted(model: Any, what: str = "model") -> None:
    """Raise Incorrect unless ``model`` is a fitted scikit-learn estimator."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    _refuse_class(model, f"a fitted {what}")
    if not hasattr(model, "fit"):
        raise Incorrect(f"expected a scikit-learn {what} (something with .fit), "
                        f"got {a_type(model)}.")
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise Incorrect(f"the {what} is not fitted yet: call .fit(...) on it first.") from None
    except TypeError as exc:
        raise Incorrect(f"the {what} is not a scikit-learn estimator ({exc}).") from None


def expect_array(answer: Any, what: str = "array", shape: tuple | None = None,
                 finite: bool = True) -> np.ndarray:
    """Convert ``answer`` to a float array and check its shape (None = any size) and values."""
    try:
        array = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise Incorrect(f"expected the {what} as numbers (an array), got a "
                        f"{type(answer).__name__}.") from None
    if shape is not None:
        if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape, strict=True)):
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise Incorrect(f"the {what} should have shape {wanted}, but it has shape {array.shape}.")
    if finite and not np.all(np.isfinite(array)):
        raise Incorrect(f"the {what} contains NaN or infinite values.")
    return array


def expect_close(value: float, expected: float, what: str, rtol: float = 0.01, atol: float = 0.0) -> None:
    """Raise Incorrect unless ``value`` is within tolerance of ``expected`` (the reason hides it)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise Incorrect(f"the {what} should be a number, got {a_type(value)}.") from None
    if not np.isfinite(value):
        raise Incorrect(f"the {what} is NaN or infinite.")
    if not np.isclose(value, expected, rtol=rtol, atol=atol):
        direction = "too high" if value > expected else "too low"
        raise Incorrect(f"the {what} ({value:.4g}) is {direction}.")


def expect_returned(value: Any, what: str = "your function", returns: str = "its answer") -> Any:
    """Raise Incorrect when a student's function handed back None (a forgotten ``return``)."""
    if value is None:
        raise Incorrect(f"{what} returned None: did you forget the `return` statement? "
                        f"It should return {returns}.")
    return value


def refuse_pixels_scaled_outside(what: str, raw_accuracy: float, scaled_accuracy: float,
                                 good: float) -> None:
    """MNIST checks hand a model the raw pixels (0 to 255) that ``load_mnist()`` returns. A model
    that does clearly better on pixels divided by 255 was trained on images scaled outside it:
    say so, instead of blaming its accuracy."""
    if scaled_accuracy >= max(good, raw_accuracy + 0.05):
        raise Incorrect(f"{what} scores {raw_accuracy:.4f} on the raw test pixels (0 to 255) but "
                        f"{scaled_accuracy:.4f} on pixels divided by 255: it was trained on scaled "
                        "images (scaled outside the model). The check hands it raw pixels, as "
                        "load_mnist() returns them: train on the raw pixels, or put the scaling "
                        "inside the model (for an ensemble, inside each member's pipeline), e.g. "
                        "make_pipeline(FunctionTransformer(lambda X: X / 255), ...).")


def call_student(function: Callable, *args, what: str = "your function", **kwargs) -> Any:
    """Call the student's function; turn its exceptions into an Incorrect with a short reason."""
    try:
        return function(*args, **kwargs)
    except (Incorrect, NotAttempted):
        raise
    except NotImplementedError:
        raise NotAttempted("your function is not implemented yet.") from None
    except Exception as exc:  # noqa: BLE001
        raise Incorrect(f"{what} raised {_short(exc)}") from None
