"""The command line: ``python -m tinygrad_edu xor`` (or ``tinygrad-edu xor``), and the
workbook of exercises: ``exercises DIR`` writes it, ``check DIR`` grades it.

Run ``python -m tinygrad_edu xor --help`` for the options.

Every mistake in the arguments is found before anything runs or is written, and is reported
on one line, ``python -m tinygrad_edu xor: error: argument --lr: ...``, with exit status 2
(argparse's convention). A failure while running (a file that cannot be written, no
Graphviz, XOR not solved, Ctrl-C) is one line too, with status 1 (130 for Ctrl-C).
``--debug`` shows the full traceback of such a failure instead.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from pathlib import Path

from . import xor_demo
from .draw import RENDERER_ENV, RenderError

PROG = "python -m tinygrad_edu"
FAILED, INTERRUPTED = 1, 130  # exit statuses of a run that went wrong (argparse's errors exit 2)
MAX_DPI = 1200  # a PNG of the XOR graph at 1200 dpi is already about 10,000 pixels wide
RENDERERS = ("auto", "dot", "pygraphviz")  # what the environment variable RENDERER_ENV may say


class OneLineParser(argparse.ArgumentParser):
    """argparse, with each error on one line (``PROG COMMAND: error: message``), status 2.

    argparse prints the usage text above its error; a student who mistyped one flag needs
    the one line that names it, and ``--help`` has the rest.
    """

    def error(self, message):
        """Print ``message`` as ``prog: error: message`` on stderr and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


# ---------------------------------------------------------------------------------------
# Argument types: each checks one flag's value, and says what was expected.
# ---------------------------------------------------------------------------------------
def positive_float(text):
    """A learning rate: a finite number above 0 (``nan``, ``inf``, 0 and negatives refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.1, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text!r}")
    return value


def seed_number(text):
    """A random seed: a whole number from 0 to 2**32 - 1, what numpy's generators accept."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {2**32 - 1}, got {text!r}")
    return value


def dpi_number(text):
    """A PNG resolution in dots per inch: a whole number from 1 to ``MAX_DPI``."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_DPI:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_DPI}, got {text!r}")
    return value


def path_text(text):
    """A file or folder name given on the command line: anything but the empty string."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must name a file or folder, got {text!r}")
    return text


# ---------------------------------------------------------------------------------------
# The parser.
# ---------------------------------------------------------------------------------------
XOR_DESCRIPTION = (
    "The lecture's XOR network (2 inputs, 2 hidden ReLU units, 1 output), in five parts: "
    "(1) the hand-set weights W1 = [[1, 1], [1, 1]], c = [0, -1], w2 = [1, -2], b = 0 "
    "predict 0 1 1 0; (2) the graph of the forward pass and MSE loss after backward() is "
    "written as a picture, for the hand-set weights (every gradient 0) or, with --start random, "
    "for the seeded random start; (3) the same network trained from a seeded random start until "
    "it solves XOR; (4) with the identity activation it predicts 0.5 everywhere and its two "
    "layers multiply out to one linear map; (5) with --steps, a web page that steps through the "
    "backward pass at the random start. Folders named in --out and --steps are created."
)


def build_parser():
    """The parser of ``python -m tinygrad_edu``; ``parser.commands`` maps each command to its own."""
    parser = OneLineParser(prog=PROG, description="tinygrad_edu: the XOR demo, and a workbook of backprop "
                                                  "exercises. Run a command with --help for its options.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="when something goes wrong while running, show the full Python traceback")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    xor = commands.add_parser("xor", parents=[common], description=XOR_DESCRIPTION,
                              help="the lecture's XOR network: hand-set weights, its graph, training, why nonlinearity")
    xor.add_argument("--out", type=path_text, default="xor.svg", metavar="PATH",
                     help="where to write the picture of the graph (default: xor.svg)")
    xor.add_argument("--format", type=str.lower, choices=xor_demo.FORMATS, default=None,
                     help="picture format (default: from the --out suffix, .svg or .png; none: svg); "
                          "the suffix of --out is set to match")
    xor.add_argument("--start", type=str.lower, choices=xor_demo.STARTS, default="hand",
                     help="what the picture shows: 'hand', the lecture's hand-set weights, a minimum where "
                          "every gradient is 0 (default), or 'random', the network at its seeded random start, "
                          "where the gradients are not 0")
    xor.add_argument("--expand", action="store_true",
                     help="draw relu, mse_loss and the Linear layers opened up into their primitive ops")
    xor.add_argument("--rankdir", type=str.upper, choices=("LR", "TB"), default="LR",
                     help="direction of the pictures: LR, left to right (default), or TB, top to bottom")
    xor.add_argument("--dpi", type=dpi_number, default=None, metavar="N",
                     help=f"resolution of a PNG picture in dots per inch, 1 to {MAX_DPI} (Graphviz's default: 96)")
    xor.add_argument("--steps", type=path_text, metavar="HTML", default=None,
                     help="also write the step-through page of the backward pass, e.g. xor_backprop.html")
    xor.add_argument("--seed", type=seed_number, default=xor_demo.DEFAULT_SEED,
                     help="random seed (0 to 2**32-1) of the random start in parts 2 (--start random), 3, 4 "
                          f"and 5 (default: {xor_demo.DEFAULT_SEED}, a start where every parameter gradient is not 0)")
    xor.add_argument("--lr", type=positive_float, default=0.1,
                     help="Adam learning rate for the training in parts 3 and 4, above 0 (default: 0.1)")
    exercises = commands.add_parser(
        "exercises", parents=[common], help="write a workbook of backprop exercises into a new folder",
        description="Write a workbook of exercises (files to fill in) into DIR, a new or empty folder.")
    exercises.add_argument("dir", type=path_text, metavar="DIR", help="the folder to create")
    check = commands.add_parser(
        "check", parents=[common], help="grade a workbook (exit status 0 when every exercise passes)",
        description="Grade the workbook in DIR: exit status 0 when every exercise passes, 1 when some fail.")
    check.add_argument("dir", type=path_text, metavar="DIR", help="the workbook's folder")
    check.add_argument("--only", type=path_text, metavar="NAME", default=None, help="grade only this exercise")
    parser.commands = {"xor": xor, "exercises": exercises, "check": check}
    return parser


# ---------------------------------------------------------------------------------------
# Checks that need more than one flag, or the file system.
# ---------------------------------------------------------------------------------------
def check_output(parser, flag, text, example):
    """Refuse an output file ``text`` that is a folder, or that lies under a file."""
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        parser.error(f"argument {flag}: {text!r} is a folder; give a file name, such as "
                     f"{str(Path(text) / example)!r}")
    check_folder_can_exist(parser, flag, text, Path(text).parent)


def check_folder_can_exist(parser, flag, text, folder):
    """Refuse a folder that cannot be created because a file sits where a folder must be."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                parser.error(f"argument {flag}: cannot use {text!r}: {str(above)!r} is a file, not a folder")
            return


def check_xor_arguments(parser, args):
    """Everything about ``xor``'s arguments that argparse cannot check alone.

    Returns ``(picture path, format, steps path or None)``; exits with status 2 on a mistake.
    """
    check_output(parser, "--out", args.out, "xor.svg")
    try:
        picture, fmt = xor_demo.picture_path(args.out, args.format)
    except ValueError as e:
        parser.error(f"argument --out: {e}")
    if picture.is_dir():
        parser.error(f"argument --out: the picture would be {str(picture)!r}, which is a folder")
    if args.dpi is not None and fmt != "png":
        parser.error(f"argument --dpi: sets the resolution of PNG pictures only, and {str(picture)!r} "
                     "is an SVG; add --format png")
    steps = None
    if args.steps is not None:
        check_output(parser, "--steps", args.steps, "xor_backprop.html")
        steps = Path(args.steps)
        if steps.resolve() == picture.resolve():
            parser.error(f"argument --steps: {args.steps!r} is also the picture's file (--out); give another name")
    renderer = os.environ.get(RENDERER_ENV, "")
    if renderer and renderer not in RENDERERS:
        parser.error(f"the environment variable {RENDERER_ENV} is {renderer!r}; expected one of "
                     f"{', '.join(RENDERERS)}, or leave it unset")
    return picture, fmt, steps


# ---------------------------------------------------------------------------------------
# Running a command: failures on one line, unless --debug.
# ---------------------------------------------------------------------------------------
def one_line(error):
    """An exception as one line of text: what went wrong and, for a file, which one."""
    if isinstance(error, OSError) and error.strerror:
        text = f"{error.strerror}: {error.filename!r}" if error.filename else error.strerror
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def quiet_stdout():
    """Point stdout at the null device, so that Python's last flush at exit cannot fail on a
    pipe whose reader has gone (the recipe of Python's documentation for SIGPIPE)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output): nothing to flush
        pass


def guarded(parser, args, action):
    """Run ``action()`` and return its exit status; a failure becomes one line on stderr.

    Caught: files that cannot be written (``OSError``), no Graphviz (``RenderError``),
    training that found no solution (``xor_demo.NotSolved``): status 1; Ctrl-C: status 130.
    A closed stdout (``| head``) ends quietly with status 1. Anything else is a bug and
    keeps its traceback. ``--debug`` re-raises everything.
    """
    try:
        return action()
    except KeyboardInterrupt:
        if args.debug:
            raise
        if sys.stdout.isatty():
            print(flush=True)  # end a progress line that is being rewritten in place
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # stdout was closed early, as by `| head`: stop quietly
        if args.debug:
            raise
        quiet_stdout()
        return FAILED
    except (OSError, RenderError, xor_demo.NotSolved) as e:
        if args.debug:
            raise
        print(f"{parser.prog}: error: {one_line(e)}", file=sys.stderr)
        return FAILED


def run_xor(parser, args):
    """``xor``: check the arguments, create the output folders, run the five parts."""
    picture, fmt, steps = check_xor_arguments(parser, args)

    def action():
        for folder in {picture.parent, *([steps.parent] if steps else [])}:
            folder.mkdir(parents=True, exist_ok=True)
        xor_demo.run(picture, fmt, steps, seed=args.seed, lr=args.lr, expand=args.expand,
                     start=args.start, rankdir=args.rankdir, dpi=args.dpi)
        return 0

    return guarded(parser, args, action)


def workbook_function(parser, function):
    """``tinygrad_edu.exercises.<function>``, imported only when a workbook command runs.

    Returns None, after a one-line message, when the package or the function is missing.
    """
    name = f"{__package__}.exercises"
    try:
        package = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise  # the package is there but something it imports is not: a real error
        package = None
    found = getattr(package, function, None)
    if found is None:
        print(f"{parser.prog}: error: this version of tinygrad_edu has no workbook of exercises "
              f"({name}.{function} is missing)", file=sys.stderr)
    return found


def run_exercises(parser, args):
    """``exercises DIR``: write the workbook into DIR, which must be new or empty."""
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        parser.error(f"argument DIR: {args.dir!r} is a file; give a new folder for the workbook")
    if folder.is_dir() and any(folder.iterdir()):
        parser.error(f"argument DIR: {args.dir!r} exists and is not empty; give a new (or empty) folder, "
                     "so that no file in it is overwritten")
    check_folder_can_exist(parser, "DIR", args.dir, folder)
    write_workbook = workbook_function(parser, "write_workbook")
    if write_workbook is None:
        return FAILED

    def action():
        write_workbook(args.dir)
        return 0

    return guarded(parser, args, action)


def run_check(parser, args):
    """``check DIR [--only NAME]``: grade the workbook; 0 when all pass, 1 when some fail."""
    folder = Path(args.dir)
    if not folder.exists():
        parser.error(f"argument DIR: {args.dir!r} does not exist; write a workbook first: "
                     f"{PROG} exercises {args.dir}")
    if not folder.is_dir():
        parser.error(f"argument DIR: {args.dir!r} is a file, not a workbook folder")
    check_workbook = workbook_function(parser, "check_workbook")
    if check_workbook is None:
        return FAILED
    return guarded(parser, args, lambda: int(check_workbook(args.dir, only=args.only)))


COMMANDS = {"xor": run_xor, "exercises": run_exercises, "check": run_check}


def main(argv=None):
    """Parse ``argv`` (default: the command line) and run the command; returns the exit status.

    A mistake in the arguments ends with ``SystemExit(2)`` (argparse's way), ``--help`` with
    ``SystemExit(0)``.
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    command = parser.commands[args.command]
    if unknown:  # reported by the command's parser, so the message names the command
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return COMMANDS[args.command](command, args)


if __name__ == "__main__":
    sys.exit(main())
