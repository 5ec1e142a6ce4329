"""`python -m local`: the whole platform on 127.0.0.1 (see the README)."""

from __future__ import annotations

import argparse
import sys

from local.runtime import main

parser = argparse.ArgumentParser(prog="python -m local", description="Run Aperture locally on 127.0.0.1")
parser.add_argument("--port", type=int, default=8000, help="port for the API, the CDN and the web client")
parser.add_argument(
    "--seed-demo",
    nargs="?",
    const=120,
    type=int,
    metavar="USERS",
    help="fill the platform with a synthetic world (local/world.py) of USERS accounts (120 if not given)",
)
args = parser.parse_args()
sys.exit(main(args.port, args.seed_demo))
