"""`python -m bench [figure ...] [--ingress-count N] [--spend-count N] [--write]`: all figures
(and bench/RESULTS.md), or only those named (printed; with --write also their own section of
bench/RESULTS.md)."""

import argparse
import sys

from bench.runner import FIGURES, main

parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
parser.add_argument("figures", nargs="*", metavar="figure", help=f"any of: {', '.join(FIGURES)}")
parser.add_argument("--ingress-count", type=int, help="submissions per ingress run")
parser.add_argument("--spend-count", type=int, help="spend lines in the spend figure")
parser.add_argument(
    "--write", action="store_true", help="figures named: write their section of RESULTS.md"
)
arguments = parser.parse_args()
if unknown := [f for f in arguments.figures if f not in FIGURES]:
    parser.error(f"unknown figure(s): {', '.join(unknown)}")
sys.exit(main(arguments.figures, arguments.ingress_count, arguments.spend_count, arguments.write))
