"""Both sides of every exercise: the reference solution passes, and bad answers get a reason.

Exercises are discovered in every ``helpers.exercises.chNN`` module, so a new chapter's
exercises are covered without touching this file.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import helpers.exercises as framework
from helpers.exercises import Exercise, Incorrect, NotAttempted, Status, leakage


def chapter_modules():
    return [importlib.import_module(f"helpers.exercises.{info.name}")
            for info in pkgutil.iter_modules(framework.__path__) if info.name.startswith("ch")]


def all_exercises():
    found = []
    for module in chapter_modules():
        for name, value in vars(module).items():
            if isinstance(value, Exercise):
                found.append(pytest.param(module.__name__, name, value,
                                          id=f"{module.__name__.rsplit('.', 1)[1]}.{name}"))
    return found


EXERCISES = all_exercises()

# Answers a student might hand in by mistake; none may pass and none may raise.
BAD_ANSWERS = {
    "none": None,
    "text": "my answer",
    "number": 42,
    "nan_array": np.array([np.nan, np.nan]),
    "empty_list": [],
    "unfitted_model": LogisticRegression(),
    "a_class_instead_of_an_object": LogisticRegression,
    "a_function_returning_none": lambda *args, **kwargs: None,
}


def test_exercises_are_discovered():
    assert EXERCISES, "no Exercise found in helpers.exercises.ch* modules"


NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def starter_cell(module_name, name):
    """The notebook's starter cell that checks exercise ``name`` of chapter ``module_name``."""
    import nbformat

    chapter = module_name.rsplit(".", 1)[1].removeprefix("ch")
    (path,) = NOTEBOOKS.glob(f"{chapter}_*.ipynb")
    cells = [c for c in nbformat.read(path, as_version=4).cells
             if c.cell_type == "code" and f"{name}.check(" in c.source]
    assert cells, f"{path.name} has no {name}.check( cell"
    return cells[0].source


@pytest.mark.parametrize("module_name, variable, exercise", EXERCISES)
def test_exercise_is_named_like_its_variable(module_name, variable, exercise):
    assert exercise.name == variable
    assert exercise.title


@pytest.mark.parametrize("module_name, variable, exercise", EXERCISES)
def test_solution_is_code_for_the_starter_cell(module_name, variable, exercise):
    """What solution() shows can replace the starter cell's `name = ...` as it stands."""
    source = exercise.solution_source()
    tree = ast.parse(source)  # valid Python
    starter = starter_cell(module_name, variable)
    assert re.search(rf"^{exercise.defines} = \.\.\.", starter, re.M), (
        f"the starter cell does not assign {exercise.defines}: {starter!r}")
    assert f"{variable}.check({exercise.defines})" in starter
    assigned = {node.id for node in ast.walk(tree)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assert exercise.defines in assigned | defined, f"the solution never defines {exercise.defines}"
    assert not any(isinstance(node, ast.Return) for node in tree.body), "a return at top level"
    assert "env.pick" not in source and "_solve" not in source
    assert source.count("\n") >= 3


@pytest.mark.parametrize("module_name, variable, exercise", EXERCISES)
def test_checker_documents_what_the_prompt_requires(module_name, variable, exercise):
    doc = exercise._checker.__doc__ or ""
    assert "What the prompt asks for" in doc and doc.count("*") >= 2, doc


@pytest.mark.parametrize("module_name, variable, exercise", EXERCISES)
def test_reference_solution_passes(module_name, variable, exercise):
    """The code solution() shows, run exactly as shown, passes the check."""
    result = exercise.evaluate(exercise.reference_answer())
    assert result.status is Status.CORRECT, str(result)


@pytest.mark.parametrize("module_name, variable, exercise", EXERCISES)
def test_untouched_starter_is_not_attempted(module_name, variable, exercise):
    assert exercise.evaluate(...).status is Status.NOT_ATTEMPTED


@pytest.mark.parametrize("module_name, variable, exercise", EXERCISES)
@pytest.mark.parametrize("kind", sorted(BAD_ANSWERS))
def test_bad_answers_get_a_reason(module_name, variable, exercise, kind):
    result = exercise.evaluate(BAD_ANSWERS[kind])
    assert result.status is not Status.CORRECT, f"{kind} was accepted"
    assert result.message.strip(), "a rejected answer must say why"
    assert "Traceback" not in result.message
    assert "checking your answer failed" not in result.message, "an internal error, not a reason"


# --------------------------------------------------------------------------- the framework itself


def _strict_checker(answer):
    if not isinstance(answer, int):
        raise Incorrect("expected an integer.")
    if answer == 0:
        raise NotAttempted("zero means you have not started.")
    if answer < 0:
        raise ZeroDivisionError("boom " * 200)  # an unexpected crash inside the checker
    if answer != 7:
        raise Incorrect("not the lucky number.")
    return "seven it is"


TOY = Exercise("ex1", "Pick the lucky number", _strict_checker, hint="Think of dwarfs.",
               solution="""
               dwarfs = ["Doc", "Grumpy", "Happy", "Sleepy", "Bashful", "Sneezy", "Dopey"]
               lucky = len(dwarfs)
               """, defines="lucky")


def test_framework_statuses():
    assert TOY.evaluate(7).status is Status.CORRECT
    assert TOY.evaluate(...).status is Status.NOT_ATTEMPTED
    assert TOY.evaluate(0).status is Status.NOT_ATTEMPTED
    assert TOY.evaluate(3).status is Status.INCORRECT
    assert TOY.evaluate("x").message == "expected an integer."


def test_unexpected_crash_in_checker_becomes_a_short_reason():
    result = TOY.evaluate(-1)
    assert result.status is Status.INCORRECT
    assert "ZeroDivisionError" in result.message and len(result.message) < 400


def test_check_prints_feedback_and_hint_and_solution(capsys):
    TOY.check(...)
    TOY.check(7)
    TOY.check(3)
    TOY.hint()
    TOY.solution()
    out = capsys.readouterr().out
    assert "Not yet attempted" in out and "Correct" in out and "Not quite" in out
    assert "Think of dwarfs." in out
    assert 'lucky = len(dwarfs)' in out and "in place of `lucky = ...`" in out
    assert TOY.reference_answer() == 7


def test_result_renders_as_plain_text_and_as_a_styled_block():
    result = TOY.evaluate(...)
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] == str(result)
    assert str(result).startswith("⏳ Not yet attempted: replace the `...`")
    assert "<code>...</code>" in bundle["text/html"] and "Not yet attempted" in bundle["text/html"]
    wrong = framework.Result("ex1", Status.INCORRECT, "a < b & `x`")
    assert "a &lt; b &amp; <code>x</code>" in wrong._repr_html_()
    # deterministic, so that nbval can compare stored and fresh outputs
    assert TOY.evaluate(...)._repr_html_() == result._repr_html_()


def test_check_displays_both_forms_in_a_notebook_kernel(monkeypatch):
    shown = []
    monkeypatch.setattr(framework, "_in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    TOY.check(...)
    (bundle, raw), = shown
    assert raw and set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"].startswith("⏳ Not yet attempted")


def test_hint_lines_are_dedented(capsys):
    toy = Exercise("ex2", "t", _strict_checker, hint="""First line starts here,
        the second line is indented in the source
        and so is the third.""", solution="x = 7", defines="x")
    toy.hint()
    out = capsys.readouterr().out
    assert "\nthe second line" in out and "\nand so is the third." in out


def test_a_function_returning_none_is_incorrect_not_unattempted():
    with pytest.raises(Incorrect, match="returned None: did you forget the `return`"):
        framework.expect_returned(None, "your function", "the answer")
    assert framework.expect_returned(0) == 0


def test_checker_tools_reject_bad_input():
    with pytest.raises(Incorrect, match="shape"):
        framework.expect_array(np.zeros((2, 3)), "matrix", shape=(3, None))
    with pytest.raises(Incorrect, match="NaN"):
        framework.expect_array([1.0, np.nan], "vector")
    with pytest.raises(Incorrect, match="numbers"):
        framework.expect_array({"a": 1}, "vector")
    with pytest.raises(Incorrect, match="not fitted"):
        framework.expect_fitted(LogisticRegression())
    with pytest.raises(Incorrect, match="scikit-learn"):
        framework.expect_fitted("model")
    with pytest.raises(Incorrect, match=r"the class LogisticRegression itself: create one"):
        framework.expect_fitted(LogisticRegression)
    with pytest.raises(Incorrect, match=r"the class LogisticRegression itself"):
        framework.expect_type(LogisticRegression, LogisticRegression, "a classifier")
    with pytest.raises(Incorrect, match="too high"):
        framework.expect_close(2.0, 1.0, "slope")
    with pytest.raises(Incorrect, match="raised ValueError"):
        framework.call_student(lambda: int("x"))
    with pytest.raises(NotAttempted):
        framework.call_student(lambda: (_ for _ in ()).throw(NotImplementedError()))


# --------------------------------------------------------------------------- the leakage evidence


def _blobs(n=300, seed=0):
    from sklearn.datasets import make_classification

    return make_classification(n_samples=n, n_features=6, n_informative=4, flip_y=0.2,
                               random_state=seed)


def test_final_estimator_unwraps_every_wrapper():
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.model_selection import GridSearchCV
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR, LinearSVC

    X, y = _blobs()
    search = GridSearchCV(make_pipeline(StandardScaler(), OneVsRestClassifier(LinearSVC())),
                          {"onevsrestclassifier__estimator__C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert isinstance(leakage.final_estimator(search), LinearSVC)
    wrapped = TransformedTargetRegressor(make_pipeline(StandardScaler(), SVR())).fit(X, y * 10.0)
    assert isinstance(leakage.final_estimator(wrapped), SVR)
    assert leakage.final_estimator("not a model") == "not a model"


def test_rows_learnt_reads_each_kind_of_count():
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    X, y = _blobs(n=123)
    for model in (StandardScaler(), PCA(2), KMeans(3, n_init=1, random_state=0)):
        assert leakage.rows_learnt(model.fit(X)) == 123, model
    for model in (KNeighborsClassifier(), SVC(), DecisionTreeClassifier(), GaussianNB(),
                  RandomForestClassifier(n_estimators=5, random_state=0)):
        assert leakage.rows_learnt(model.fit(X, y)) == 123, model
    assert leakage.rows_learnt(LogisticRegression().fit(X, y)) is None
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    assert leakage.counts(forest) == [("RandomForestClassifier", 123)]  # not its bootstrap trees


def _scored(X, y, X_ref, y_ref):
    return leakage.Scored(X, y, what="test rows", n_train=len(X_ref), reference=(X_ref, y_ref, "training rows"))


def test_expect_unseen_names_each_kind_of_evidence():
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    X, y = _blobs(n=600)
    X_train, y_train, X_test, y_test = X[:400], y[:400], X[400:], y[400:]
    scored = _scored(X_test, y_test, X_train, y_train)
    honest = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X_train, y_train)
    leakage.expect_unseen(honest, scored)  # nothing to say
    everything = make_pipeline(StandardScaler(), DecisionTreeClassifier()).fit(X, y)
    with pytest.raises(Incorrect, match=r"leakage.*trained on 600 rows: as many as the training split \(400\)"):
        leakage.expect_unseen(everything, scored)
    on_test = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X_test, y_test)
    with pytest.raises(Incorrect, match=r"all 200 training rows kept by its KNeighborsClassifier"):
        leakage.expect_unseen(on_test, scored)
    memorizer = DecisionTreeClassifier(random_state=0).fit(X_test, y_test)
    with pytest.raises(Incorrect, match="fits them clearly better than training rows"):
        leakage.expect_unseen(memorizer, scored)


def test_refitted_on_names_the_rows_of_a_deterministic_fit():
    from sklearn.svm import LinearSVC

    X, y = _blobs(n=400)
    model = LinearSVC(dual=False).fit(X[200:], y[200:])
    candidates = {"first half": (X[:200], y[:200]), "second half": (X[200:], y[200:])}
    assert leakage.refitted_on(model, candidates, X) == "second half"
    assert leakage.refitted_on(model, {"first half": candidates["first half"]}, X) is None


def test_scaling_outside_the_model_is_named():
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = _blobs(n=400)
    X = X * [1.0, 100.0, 1e4, 1.0, 1.0, 1.0] + 50.0
    model = SVC().fit(StandardScaler().fit_transform(X[:300]), y[:300])
    raw = float(np.mean(model.predict(X[300:]) == y[300:]))

    def score(data):
        return float(np.mean(model.predict(data) == y[300:]))

    with pytest.raises(Incorrect, match="scaled outside the model"):
        leakage.refuse_scaled_outside(score, X[300:], X[:300], good=0.7, raw_score=raw,
                                      what="the model")
