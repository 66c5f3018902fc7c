"""The machinery of the exercise-answer bank (tests/test_exercise_bank_*.py).

Each bank file registers answers a student might hand in, with the status the check must
give and a phrase its message must contain, so that a regression in the feedback (not only
in the verdict) fails a test::

    @answer(ch01.ex20, "normal equation", CORRECT, "same as LinearRegression")
    def normal_equation():
        ...
        return theta

Builders run lazily, inside the test; fitted objects that several answers share come from
``functools.cache`` functions of the bank file, so each worker fits them once. A phrase may be a
tuple of phrases, all of which the message must contain.

Every exercise that scores a model on a split the student can reach has its *leakage family*
in the bank: a model fitted on the scored split, one fitted on the training and the scored
rows together, and one with a preprocessing step fitted on everything before the split. Each
must fail with a message that names data leakage (``LEAK`` among its phrases), and
:func:`check_leakage_family` counts them.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from helpers.exercises import Exercise, Status

CORRECT, NOT_ATTEMPTED, INCORRECT = Status.CORRECT, Status.NOT_ATTEMPTED, Status.INCORRECT

#: What every exercise's bank must hold at least: correct answers written differently from the
#: reference solution, and wrong answers, each with a message that names the problem.
MIN_CORRECT, MIN_WRONG = 2, 6
#: The phrase of every message about a model that has seen the rows it is scored on.
LEAK = "data leakage"
#: The three members of the leakage family (see the module docstring).
MIN_LEAKS = 3


def exercise_key(exercise: Exercise) -> str:
    """'ch07.ex9': exercise names repeat across chapters, so the chapter is part of the key."""
    return f"{exercise._checker.__module__.rsplit('.', 1)[1]}.{exercise.name}"


class Bank:
    def __init__(self):
        self.cases: list = []

    def answer(self, exercise: Exercise, label: str, status: Status, phrase: str | tuple):
        """Register the decorated builder as an answer to ``exercise``."""

        def register(build):
            case_id = f"{exercise_key(exercise)}-{re.sub(r'[^a-z0-9]+', '_', label.lower())}"
            self.cases.append(pytest.param(exercise, build, status, phrase, id=case_id))
            return build

        return register

    def counts(self) -> dict[str, Counter]:
        found: dict[str, Counter] = {}
        for param in self.cases:
            exercise, _, status, _ = param.values
            found.setdefault(exercise_key(exercise), Counter())[status is CORRECT] += 1
        return found

    def leaks(self) -> Counter:
        """How many wrong answers of each exercise must be named as data leakage."""
        found: Counter = Counter()
        for param in self.cases:
            exercise, _, status, phrase = param.values
            if status is INCORRECT and LEAK in _phrases(phrase):
                found[exercise_key(exercise)] += 1
        return found


def _phrases(phrase) -> tuple[str, ...]:
    return (phrase,) if isinstance(phrase, str) else tuple(phrase)


def untouched():
    return ...


def run_case(exercise: Exercise, build, status: Status, phrase) -> None:
    result = exercise.evaluate(build())
    assert result.status is status, f"expected {status.value}, got: {result}"
    for expected in _phrases(phrase):
        assert expected.lower() in result.message.lower(), f"{expected!r} not in: {result}"
    assert "Traceback" not in result.message
    assert "checking your answer failed" not in result.message, "an internal error, not a reason"


def check_leakage_family(bank: Bank, minimum: dict) -> None:
    """Each exercise of ``minimum`` (exercise -> how many) has that many leakage answers."""
    leaks = bank.leaks()
    for exercise, wanted in minimum.items():
        key = exercise_key(exercise)
        assert leaks[key] >= wanted, f"{key}: {leaks[key]} answers named as data leakage"


def check_counts(bank: Bank, exercises) -> None:
    counts = bank.counts()
    for exercise in exercises:
        key = exercise_key(exercise)
        tally = counts.get(key, Counter())
        assert tally[True] >= MIN_CORRECT, f"{key}: {tally[True]} correct answers"
        assert tally[False] >= MIN_WRONG, f"{key}: {tally[False]} wrong answers"


def main(argv=None) -> int:
    """Time the checks of the bank, the building of each answer excluded, and list the slowest.

    ``python tests/exercise_bank.py [-k TEXT] [--top N] [--solutions]`` (COURSE_QUICK=1 for
    quick mode): a benchmark, not a test; it also says which answers get another status than
    the bank's. With ``--solutions``, the reference solutions are timed instead of the bank.
    """
    import argparse
    import importlib
    import sys
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the cases whose id contains this text")
    parser.add_argument("--top", type=int, default=15, help="how many of the slowest to list")
    parser.add_argument("--solutions", action="store_true", help="time the reference solutions")
    options = parser.parse_args(argv)
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    if options.solutions:
        cases = [pytest.param(param.values[2], param.values[2].reference_answer, CORRECT, "",
                              id=param.id)
                 for param in importlib.import_module("test_exercises").EXERCISES]
    else:
        cases = [case for path in sorted(here.glob("test_exercise_bank_*.py"))
                 for case in importlib.import_module(path.stem).CASES]
    if any("ch10" in case.id and options.k in case.id for case in cases):
        from helpers import env

        env.import_tensorflow(report=False)  # as chapter 10 does long before its first check
    timings, wrong = [], []
    for case in cases:
        if options.k in case.id:
            exercise, build, status, phrase = case.values
            answer = build()
            start = time.perf_counter()
            result = exercise.evaluate(answer)
            timings.append((time.perf_counter() - start, case.id))
            missing = [text for text in _phrases(phrase) if text.lower() not in result.message.lower()]
            if result.status is not status or missing:
                wrong.append(f"{case.id}: {result}")
    for seconds, case_id in sorted(timings, reverse=True)[:options.top]:
        print(f"{seconds:7.2f} s  {case_id}")
    print(f"{len(timings)} checks timed, {sum(t for t, _ in timings):.1f} s in all")
    for line in wrong:
        print("UNEXPECTED", line)
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
