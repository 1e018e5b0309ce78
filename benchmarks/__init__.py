"""Benchmarks of tinygrad_edu against a hand-written numpy floor and PyTorch (see run.py)."""
