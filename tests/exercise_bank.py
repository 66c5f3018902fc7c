"""The machinery of the exercise-answer bank (tests/test_exercise_bank_*.py).

Each bank file registers answers a student might hand in, with the status the check must
give and a phrase its message must contain, so that a regression in the feedback (not only
in the verdict) fails a test::

    @answer(ch01.ex20, "normal equation", CORRECT, "same as LinearRegression")
    def normal_equation():
        ...
        return theta

Builders run lazily, inside the test; fitted objects that several answers share come from
``functools.cache`` functions of the bank file, so each worker fits them once.
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


def exercise_key(exercise: Exercise) -> str:
    """'ch07.ex9': exercise names repeat across chapters, so the chapter is part of the key."""
    return f"{exercise._checker.__module__.rsplit('.', 1)[1]}.{exercise.name}"


class Bank:
    def __init__(self):
        self.cases: list = []

    def answer(self, exercise: Exercise, label: str, status: Status, phrase: str):
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


def untouched():
    return ...


def run_case(exercise: Exercise, build, status: Status, phrase: str) -> None:
    result = exercise.evaluate(build())
    assert result.status is status, f"expected {status.value}, got: {result}"
    assert phrase.lower() in result.message.lower(), f"{phrase!r} not in: {result}"
    assert "Traceback" not in result.message


def check_counts(bank: Bank, exercises) -> None:
    counts = bank.counts()
    for exercise in exercises:
        key = exercise_key(exercise)
        tally = counts.get(key, Counter())
        assert tally[True] >= MIN_CORRECT, f"{key}: {tally[True]} correct answers"
        assert tally[False] >= MIN_WRONG, f"{key}: {tally[False]} wrong answers"
