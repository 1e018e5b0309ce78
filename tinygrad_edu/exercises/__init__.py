"""Graded exercises: a workbook of small files a student fills in, and the grader that checks them.

    python -m tinygrad_edu exercises DIR          write_workbook(DIR): one file per exercise, a README
    python -m tinygrad_edu check DIR [--only N]   check_workbook(DIR, only=N): the report; 0 if all pass

The student writes backward rules, the graph walk, activations, losses and optimiser steps
in numpy (and with the engine's Tensor ops where the exercise is about composites); the
grader checks each against the engine, central differences and Hypothesis-generated cases,
and names the classic mistakes. Where things are:

    catalog.py      the exercises in order; find one by name or number
    rules.py, reductions.py, graph.py, activations.py, losses.py, training.py
                    the exercises by topic: texts, stub, and check
    checks.py       the grader's tools: call the student's code, compare, explain, generate cases
    workbook.py     writing the files (write_workbook) and filling one in (fill_in)
    grader.py       each exercise in its own process with a time limit; the report
    solutions.py    the reference solutions (for teachers and the tests)
"""
from .catalog import EXERCISES, find
from .grader import TIME_LIMIT, Result, check_workbook, grade_workbook
from .workbook import fill_in, write_workbook

__all__ = ["EXERCISES", "find", "write_workbook", "check_workbook", "grade_workbook", "fill_in",
           "Result", "TIME_LIMIT"]
