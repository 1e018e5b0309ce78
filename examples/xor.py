"""The lecture's XOR network: hand-set weights, the graph picture, training, and why the
activation must be nonlinear. The same as ``python -m tinygrad_edu xor`` (see --help):

    python examples/xor.py --out xor.svg --steps xor_backprop.html
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, uninstalled

from tinygrad_edu.__main__ import main as tinygrad_edu_main  # noqa: E402


def main(argv=None):
    """Run the demo with these command-line arguments (default: this script's)."""
    return tinygrad_edu_main(["xor", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
