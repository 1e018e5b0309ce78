"""The exercises in their order, and how to find one by name, number or file name.

The order follows the lecture and the engine from the outside in: the lecture's own XOR
exercise as a warm-up, then the primitives' backward rules, shapes and broadcasting, the
graph walk, the activations of the lecture as composites, the losses of its models, and
the optimisers that train them. To add an exercise, write its ``Exercise`` (texts, stub,
check) in one of the topic modules, add it to that module's list here, and add its
reference solution to ``solutions.py`` (docs/exercises.md says more).
"""
from . import activations, graph, losses, reductions, rules, training

EXERCISES = [training.XOR, *rules.EXERCISES, *reductions.EXERCISES, *graph.EXERCISES,
             *activations.EXERCISES, *losses.EXERCISES, *training.EXERCISES]


def file_name(exercise):
    """The exercise's file in a workbook, e.g. '02_mul_backward.py'."""
    return f"{EXERCISES.index(exercise) + 1:02d}_{exercise.name}.py"


def find(name):
    """The exercise called ``name`` ('mul_backward'), or by its number ('2', '02') or file name
    ('02_mul_backward.py'). A ValueError lists the names when there is no such exercise."""
    key = str(name).strip().removesuffix(".py")
    for i, ex in enumerate(EXERCISES, start=1):
        if key in (ex.name, f"{i:02d}_{ex.name}", str(i), f"{i:02d}"):
            return ex
    raise ValueError(f"there is no exercise called {name!r}; the exercises are: "
                     + ", ".join(ex.name for ex in EXERCISES))
