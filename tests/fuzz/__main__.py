"""`python -m tests.fuzz [--seconds N] [--workers W] [--seed S]`: the run `make fuzz` starts (see harness.py)."""

from __future__ import annotations

import argparse
import sys

from tests.fuzz.harness import fuzz

parser = argparse.ArgumentParser(prog="python -m tests.fuzz")
parser.add_argument("--seconds", type=int, default=600, help="time budget of the generation phases")
parser.add_argument("--workers", type=int, default=2)
parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed, to replay a run")
args = parser.parse_args()
code, report = fuzz(args.seconds, args.workers, args.seed)
print(report)
sys.exit(code)
