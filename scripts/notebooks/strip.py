#!/usr/bin/python3
"""Keeps committed notebooks output-free.

  /usr/bin/python3 scripts/notebooks/strip.py            # strip notebooks/*.ipynb in place
  /usr/bin/python3 scripts/notebooks/strip.py a.ipynb    # strip the given files
  /usr/bin/python3 scripts/notebooks/strip.py --check    # list notebooks that have outputs; exit 1 if any

Stripping removes cell outputs, execution counts, per-cell execution timing metadata and the
notebook's trust signature; sources, cell ids, kernelspec and language_info are kept. Files that
are already clean are not rewritten.
"""

import argparse
import glob
import os
import sys

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CELL_METADATA_DROP = ("execution", "collapsed", "scrolled")
NB_METADATA_DROP = ("signature", "widgets")


def problems(nb):
    """What would be stripped, as readable strings (empty when clean)."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                found.append(f"cell {i}: {len(cell.outputs)} output(s)")
            if cell.get("execution_count") is not None:
                found.append(f"cell {i}: execution_count {cell.execution_count}")
        for key in CELL_METADATA_DROP:
            if key in cell.get("metadata", {}):
                found.append(f"cell {i}: metadata.{key}")
    for key in NB_METADATA_DROP:
        if key in nb.metadata:
            found.append(f"notebook metadata.{key}")
    return found


def strip(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in CELL_METADATA_DROP:
            cell.get("metadata", {}).pop(key, None)
    for key in NB_METADATA_DROP:
        nb.metadata.pop(key, None)
    return nb


def main(argv):
    ap = argparse.ArgumentParser(description="Strip outputs from notebooks (or --check that none have any).")
    ap.add_argument("notebooks", nargs="*", help="default: notebooks/*.ipynb")
    ap.add_argument("--check", action="store_true", help="only report; exit 1 if any notebook has outputs")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
    dirty = 0
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:  # unreadable JSON: name the file
            sys.stderr.write(f"strip.py: {path}: not a readable notebook: {err}\n")
            return 2
        found = problems(nb)
        if not found:
            continue
        dirty += 1
        if args.check:
            print(f"{path}: has outputs: {'; '.join(found[:5])}{' ...' if len(found) > 5 else ''}")
        else:
            nbformat.write(strip(nb), path)
            print(f"stripped {path} ({len(found)} item(s))")
    if args.check and dirty:
        print(f"{dirty} notebook(s) have outputs: run /usr/bin/python3 scripts/notebooks/strip.py")
        return 1
    if args.check:
        print(f"{len(paths)} notebook(s) clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
