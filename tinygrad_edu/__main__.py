"""The command line: ``python -m tinygrad_edu xor`` (or ``tinygrad-edu xor``).

Run ``python -m tinygrad_edu xor --help`` for the options.
"""
from __future__ import annotations

import argparse
import sys

from . import xor_demo


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_edu",
        description="tinygrad_edu demos. Run a command with --help for its options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    xor = commands.add_parser(
        "xor",
        help="the lecture's XOR network: hand-set weights, its graph, training, why nonlinearity",
        description=(
            "The lecture's XOR network (2 inputs, 2 hidden ReLU units, 1 output), in five parts: "
            "(1) the hand-set weights W1 = [[1, 1], [1, 1]], c = [0, -1], w2 = [1, -2], b = 0 "
            "predict 0 1 1 0; (2) the graph of the forward pass and MSE loss after backward() is "
            "written as a picture; (3) the same network trained from a seeded random start until it "
            "solves XOR; (4) with the identity activation it predicts 0.5 everywhere and its two "
            "layers multiply out to one linear map; (5) with --steps, a web page that steps "
            "through the backward pass."
        ),
    )
    xor.add_argument("--out", default="xor.svg", metavar="PATH",
                     help="where to write the picture of the graph (default: xor.svg)")
    xor.add_argument("--format", choices=("svg", "png"), default=None,
                     help="picture format (default: from the --out suffix, else svg); "
                          "the suffix of --out is set to match")
    xor.add_argument("--expand", action="store_true",
                     help="draw relu, mse_loss and the Linear layers opened up into their primitive ops")
    xor.add_argument("--steps", metavar="HTML", default=None,
                     help="also write the step-through page of the backward pass, e.g. xor_backprop.html")
    xor.add_argument("--seed", type=int, default=0,
                     help="random seed for the initial weights in parts 3, 4 and 5 (default: 0)")
    xor.add_argument("--lr", type=float, default=0.1,
                     help="Adam learning rate for the training in parts 3 and 4 (default: 0.1)")
    return parser


def main(argv=None):
    """Parse ``argv`` (default: the command line) and run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "xor":
        xor_demo.run(out_path=args.out, fmt=args.format, steps_path=args.steps, seed=args.seed,
                     lr=args.lr, expand=args.expand)
    return 0


if __name__ == "__main__":
    sys.exit(main())
