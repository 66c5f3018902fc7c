"""The grader's side inside a student's kernel: it reports each genuine check, and tampering.

The runner executes this file's source in the kernel (silently, before the notebook's first
cell) and calls :func:`install`. From then on:

* every ``exN.check(...)`` reaches :func:`install`'s ``sink`` through ``helpers.progress``,
  which writes the result to a channel file with an HMAC made with a key that only this code
  holds (the key file is deleted before the notebook's first cell runs). Printed or displayed
  text never reaches the channel;
* ``sink`` accepts a result only when it was produced by the course's own ``Exercise.check``,
  ``evaluate`` and checker, unchanged since the kernel started (code objects, the call chain,
  and every attribute of the checker modules are compared with a snapshot taken here);
* after every cell, the runner calls ``audit(cell)``, which reports any difference from the
  snapshot (a replaced ``check``, ``evaluate``, checker function or module, an exercise object
  rebound in the notebook) with the key.

What this cannot see is documented in docs/grading.md (the threat model): student code runs in
the same process, so code written to defeat this very file (reading the key out of memory,
patching NumPy) is out of its reach.
"""


def install(key_file, records_file, chapter, registry):
    """Take the key, open the channel, snapshot the course's checker code, hook into checks."""
    import _hashlib
    import importlib
    import os
    import sys
    import types

    _write, _getframe, _repr, _type, _vars, _id = os.write, sys._getframe, repr, type, vars, id
    _isinstance, _sorted, _list, _getattr = isinstance, sorted, list, getattr
    _digest = _hashlib.hmac_digest
    _modules = sys.modules

    with open(key_file, "rb") as stream:
        key = stream.read()
    os.unlink(key_file)
    channel = os.open(records_file, os.O_WRONLY | os.O_APPEND)

    exercises_module = importlib.import_module("helpers.exercises")
    progress = importlib.import_module("helpers.progress")
    chapter_module = importlib.import_module(f"helpers.exercises.{chapter}")
    for name in ("helpers.data", "helpers.env"):  # what checkers call into
        importlib.import_module(name)
    Exercise, Result, Status = exercises_module.Exercise, exercises_module.Result, exercises_module.Status
    statuses = ((Status.CORRECT, "correct"), (Status.INCORRECT, "incorrect"),
                (Status.NOT_ATTEMPTED, "not attempted"))
    chain = (progress.record.__code__, exercises_module._record.__code__, Exercise.check.__code__)
    listeners = progress._LISTENERS
    function_type = types.FunctionType

    def fingerprint(value):
        """What must stay the same: the object, and for a function its code, defaults and closure."""
        if _type(value) is function_type:
            cells = tuple(_id(c.cell_contents) for c in value.__closure__ or ())
            return (_id(value), _id(value.__code__), _id(value.__defaults__),
                    _id(value.__kwdefaults__), cells)
        if _isinstance(value, type):
            return (_id(value), tuple((k, fingerprint(v)) for k, v in _list(_vars(value).items())
                                      if k not in ("__dict__", "__weakref__", "__doc__")))
        return _id(value)

    def watched(name):
        return name == "helpers" or (name.startswith("helpers.") and not name.startswith("helpers.grade"))

    def snapshot(module, everything):
        """Every attribute of a checker module; the functions, classes and modules of the others
        (whose plain values, like the current chapter of helpers.plots, change legitimately)."""
        kept = {}
        for key_, value in _list(_vars(module).items()):
            if key_.startswith("__"):
                continue
            if everything or _isinstance(value, (type, types.ModuleType)) or callable(value):
                kept[key_] = fingerprint(value)
        return kept

    modules = {}

    def watch_new_modules():
        for name, module in _list(_modules.items()):
            if module is not None and watched(name) and name not in modules:
                modules[name] = (module, snapshot(module, name.startswith("helpers.exercises")))

    watch_new_modules()
    originals = {name: (value, dict(_vars(value)))
                 for name, value in _vars(chapter_module).items() if _type(value) is Exercise}

    def owner(attribute):
        """The exercise a changed attribute belongs to ('_check_ex20' -> 'ex20'), else '' (all)."""
        for name in originals:
            if attribute == name or attribute.endswith("_" + name):
                return name
        return ""

    def problems():
        """Every difference from the snapshot, as (exercise or '', what changed)."""
        found = []
        for name, (module, kept) in _list(modules.items()):
            if _modules.get(name) is not module:
                found.append(("", f"the module {name} was replaced in sys.modules"))
                continue
            now = snapshot(module, True)
            for attribute, value in kept.items():
                if now.get(attribute) != value:
                    found.append((owner(attribute), f"{name}.{attribute} was replaced or changed"))
        if _getattr(progress, "_LISTENERS", None) is not listeners or not any(x is sink for x in listeners):
            found.append(("", "the grader's hook in helpers.progress was removed"))
        try:
            from IPython import get_ipython

            user_ns = get_ipython().user_ns
        except Exception:  # noqa: BLE001 - outside IPython there is no notebook namespace
            user_ns = {}
        for name, (exercise, attributes) in originals.items():
            if _type(exercise) is not Exercise:
                found.append((name, f"{name} was turned into another kind of object"))
            elif _vars(exercise) != attributes or any(_vars(exercise)[k] is not v for k, v in attributes.items()):
                changed = _sorted(set(_vars(exercise)) ^ set(attributes)) or _sorted(
                    k for k, v in attributes.items() if _vars(exercise).get(k) is not v)
                found.append((name, f"{name}.{', '.join(changed)} was set on the exercise"))
            bound = user_ns.get(name, exercise)
            if bound is not exercise and _getattr(bound, "check", None) is not None:
                found.append((name, f"the notebook's name {name} was bound to another object with a check"))
        return found

    sequence = [0]

    def send(kind, fields):
        sequence[0] += 1
        body = _repr((sequence[0], kind, fields))
        mac = _digest(key, body.encode("utf-8"), "sha256").hex()
        _write(channel, (mac + " " + body.replace("\n", "\\n") + "\n").encode("utf-8"))

    def sink(exercise, result):
        """Called by helpers.progress.record for every check: report it if it is genuine."""
        record_frame = _getframe(1)  # helpers.progress.record, called by _record, called by check
        hook_frame = record_frame.f_back
        check_frame = hook_frame.f_back if hook_frame is not None else None
        frames = (record_frame, hook_frame, check_frame)
        found = [p for p in problems() if p[0] in ("", _getattr(exercise, "name", ""))]
        if any(frame is None or frame.f_code is not code for frame, code in zip(frames, chain, strict=True)):
            found.append(("", "a result reached the grader without the course's Exercise.check"))
        else:
            caller = check_frame.f_locals
            if caller.get("self") is not exercise or caller.get("result") is not result:
                found.append(("", "Exercise.check reported a result it did not compute"))
        name = next((n for n, (e, _) in originals.items() if e is exercise), None)
        status = next((text for member, text in statuses if result.status is member), None) \
            if _type(result) is Result else None
        if name is None or status is None:
            found.append((name or "", "a check reported an object that is not one of the course's results"))
        message = result.message if _type(result) is Result and _type(result.message) is str else ""
        send("check", (name or "", status or "", message[:1000], tuple(found)))

    def audit(cell):
        watch_new_modules()
        send("audit", (cell, tuple(problems())))

    listeners.append(sink)
    handle = types.ModuleType(registry)
    handle.audit = audit
    _modules[registry] = handle
