"""The course's grader for instructors: ``python -m helpers.grade SUBMISSION... --out DIR``.

Not imported by the notebooks. See docs/grading.md for the instructor's guide.
"""
