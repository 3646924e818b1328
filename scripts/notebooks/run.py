#!/usr/bin/python3
"""Headless notebook runner for the kit (tslab kernel, nbclient, nbconvert).

Executes notebooks cell by cell through Jupyter with the project's tslab kernel, stops at the first
failing cell and prints the notebook, the cell index, the head of the cell source and the real error
(tslab writes it to the cell's stderr; nbclient alone only reports "<Error>:"). Executed notebooks and
their HTML export go to reports/notebooks/<name>.ipynb / .html; the notebooks in notebooks/ are never
written (they stay output-free).

Also fails on asynchronous errors: tslab prints "UncaughtException:" / "UnhandledPromiseRejection:"
to whichever cell is running when a timer or promise fails; and once tfjs's wasm backend is loaded,
its handlers make such an error kill the kernel, whose last stderr lines are then printed. A short
settle step after the last cell catches errors from work that was still pending.

Usage (run with the Debian python, which has Jupyter):
  /usr/bin/python3 scripts/notebooks/run.py                    # every notebooks/*.ipynb, sorted
  /usr/bin/python3 scripts/notebooks/run.py notebooks/00-smoke.ipynb --quick --timeout 300
Options: see --help. Environment: KIT_QUICK=1 (same as --quick), KIT_NB_TIMEOUT (per-cell seconds).
Exit status: 0 all passed, 1 a notebook failed, 2 bad usage / setup.
"""

import argparse
import glob
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernelspec  # noqa: E402  (same folder)

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbclient.util import ensure_async, run_sync
except ImportError as err:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"run.py: {err}. Use /usr/bin/python3 with Debian packages python3-nbclient jupyter-nbconvert "
        "(a pyenv python3 first on PATH has no Jupyter).\n"
    )
    sys.exit(2)

# What tslab prints for errors raised outside the cell's own execution (main.js handlers).
ASYNC_ERROR = re.compile(r"^(UncaughtException|UnhandledPromiseRejection):", re.M)
SOURCE_HEAD_LINES = 12
KERNEL_LOG_TAIL = 40


class CellFailure(Exception):
    def __init__(self, cell_index, kind, detail, asynchronous=False):
        super().__init__(f"cell {cell_index}: {kind}")
        self.cell_index = cell_index
        self.kind = kind
        self.detail = detail
        self.asynchronous = asynchronous


class KitNotebookClient(NotebookClient):
    """NotebookClient that also watches output addressed to earlier cells.

    tslab routes stderr to the cell that was executing most recently; nbclient drops messages whose
    parent is not the running cell, so an async error reported just after a cell finished would be
    lost. This override records such stderr text (nbclient 0.7's private poller; if a future nbclient
    renames it, the override is simply unused and only in-cell detection remains).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.msg_cells = {}  # parent msg_id -> cell index
        self.late_errors = []  # (cell_index, text)

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.msg_cells[parent_msg_id] = cell_index
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            parent = msg["parent_header"].get("msg_id")
            if parent == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except Exception as exc:  # CellExecutionComplete ends the poll
                    if type(exc).__name__ == "CellExecutionComplete":
                        return
                    raise
            elif msg["msg_type"] == "stream" and msg["content"].get("name") == "stderr":
                text = msg["content"].get("text", "")
                if ASYNC_ERROR.search(text):
                    self.late_errors.append((self.msg_cells.get(parent, "?"), text))


def cell_stderr(cell):
    """All stderr text and error outputs of a cell, in order."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            tb = "\n".join(out.get("traceback", []))
            parts.append(tb or f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts)


def source_head(source, lines=SOURCE_HEAD_LINES):
    src = source.splitlines()
    head = "\n".join(f"    {line}" for line in src[:lines])
    if len(src) > lines:
        head += f"\n    ... ({len(src) - lines} more lines)"
    return head


# tslab's compile diagnostics for the cell itself: "<line>:<col> - <message>" (1-based).
DIAGNOSTIC = re.compile(r"^(\d+):(\d+) - ", re.M)


def with_diagnostic_context(detail, source):
    """Appends the cell line (with a caret) that each TypeScript diagnostic points at."""
    lines = source.splitlines()
    extra = []
    for m in DIAGNOSTIC.finditer(detail):
        row, col = int(m.group(1)), int(m.group(2))
        if 1 <= row <= len(lines):
            extra.append(f"  line {row}: {lines[row - 1]}")
            extra.append("  " + " " * (len(f"line {row}: ") + col - 1) + "^")
    return detail + ("\n" + "\n".join(extra) if extra else "")


def tail(path, lines):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def code_cell_count(nb):
    return sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())


def execute(nb, nb_dir, args, kernel_log):
    """Runs the cells; raises CellFailure at the first failing one. Returns per-cell seconds."""
    client = KitNotebookClient(
        nb,
        timeout=int(math.ceil(args.timeout)),  # nbclient wants whole seconds
        startup_timeout=int(math.ceil(args.startup_timeout)),
        kernel_name=args.kernel,
        resources={"metadata": {"path": nb_dir}},
        allow_errors=False,
        record_timing=True,
        # tslab's process can linger after a shutdown request while timers are pending; the results
        # are already collected, so skip jupyter_client's 5 s graceful wait.
        shutdown_kernel="immediate",
    )
    timings = []
    with open(kernel_log, "w", encoding="utf-8") as log:
        # The kernel's own stdout/stderr (not the cell streams): Node's fatal-error output lands here.
        with client.setup_kernel(stdout=log, stderr=log):
            cells = list(enumerate(nb.cells))
            sentinel = None
            if args.settle_ms > 0:
                sentinel = nbformat.v4.new_code_cell(
                    f"await new Promise((resolve) => setTimeout(resolve, {int(args.settle_ms)}));"
                )
                nb.cells.append(sentinel)  # nbclient writes results back by index
                cells.append((len(nb.cells) - 1, sentinel))
            count = 0
            try:
                for index, cell in cells:
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    start = time.monotonic()
                    count += 1
                    try:
                        # tslab sends no execute_input, so nbclient would leave the prompt numbers empty.
                        client.execute_cell(cell, index, execution_count=count)
                    except CellTimeoutError:
                        # tslab handles SIGINT by abandoning the cell, so the shutdown that follows is quick.
                        try:
                            run_sync(ensure_async)(client.km.interrupt_kernel())
                        except Exception:  # the failure report matters more than the interrupt
                            pass
                        raise CellFailure(index, f"timed out after {args.timeout:g} s", cell_stderr(cell))
                    except DeadKernelError:
                        log.flush()
                        raise CellFailure(
                            index,
                            "the kernel died",
                            (cell_stderr(cell) + "\n--- kernel process output (last lines) ---\n" + tail(kernel_log, KERNEL_LOG_TAIL)).strip(),
                            asynchronous=True,
                        )
                    except CellExecutionError as err:
                        detail = cell_stderr(cell).strip() or str(err)
                        raise CellFailure(index, "error", with_diagnostic_context(detail, cell.source))
                    timings.append((index, time.monotonic() - start))
                    if client.late_errors:
                        where, text = client.late_errors[0]
                        raise CellFailure(where, "asynchronous error after the cell finished", text, asynchronous=True)
                    found = ASYNC_ERROR.search(cell_stderr(cell))
                    if found:
                        raise CellFailure(index, "asynchronous error", cell_stderr(cell)[found.start():], asynchronous=True)
            finally:
                if sentinel is not None:
                    nb.cells.remove(sentinel)
    return timings


def export_html(nb, path):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)


def report_failure(nb_path, nb, failure, kernel_log):
    n = len(nb.cells)
    if failure.cell_index == n:
        where = f"after the last cell ({args_settle_note()})"
        src = ""
    elif isinstance(failure.cell_index, int) and 0 <= failure.cell_index < n:
        count = nb.cells[failure.cell_index].get("execution_count")
        where = f"at cell index {failure.cell_index} of {n} (0-based; In [{count or ' '}])"
        src = source_head(nb.cells[failure.cell_index].source)
    else:
        where = f"at cell {failure.cell_index}"
        src = ""
    sys.stdout.flush()
    out = [
        "",
        "=" * 78,
        f"FAILED: {nb_path}",
        f"  {where}: {failure.kind}",
    ]
    if src:
        out += ["--- cell source ---", src]
    out += ["--- error ---", failure.detail.rstrip() or "(no error text captured)"]
    if failure.asynchronous:
        out.append(
            "--- note: this error came from an asynchronous task (timer / promise); it may have been "
            "started by an earlier cell ---"
        )
    out += [f"kernel process log: {kernel_log}", "=" * 78, ""]
    sys.stderr.write("\n".join(out))


def args_settle_note():
    return "during the settle wait that catches late asynchronous errors"


def run_one(nb_path, args, out_dir):
    name = os.path.splitext(os.path.basename(nb_path))[0]
    nb = nbformat.read(nb_path, as_version=4)
    nb_dir = os.path.dirname(os.path.abspath(nb_path))
    kernel_log = os.path.join(out_dir, f"{name}.kernel.log")
    print(f"--> {nb_path} ({code_cell_count(nb)} code cells)", flush=True)
    start = time.monotonic()
    failure = None
    timings = []
    try:
        timings = execute(nb, nb_dir, args, kernel_log)
    except CellFailure as f:
        failure = f
    elapsed = time.monotonic() - start
    out_nb = os.path.join(out_dir, f"{name}.ipynb")
    nbformat.write(nb, out_nb)
    if not args.no_html:
        export_html(nb, os.path.join(out_dir, f"{name}.html"))
    if failure:
        report_failure(nb_path, nb, failure, kernel_log)
        print(f"FAIL {nb_path} after {elapsed:.1f} s (partial outputs in {out_nb})", flush=True)
        return False
    slow = sorted(timings, key=lambda t: -t[1])[:3]
    slow_txt = ", ".join(f"cell {i}: {s:.1f} s" for i, s in slow)
    print(f"ok   {nb_path} in {elapsed:.1f} s (slowest {slow_txt}) -> {out_nb}", flush=True)
    return True


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Execute kit notebooks headlessly with the tslab kernel.")
    ap.add_argument("notebooks", nargs="*", help="notebook files (default: notebooks/*.ipynb, sorted)")
    ap.add_argument("--quick", action="store_true", help="set KIT_QUICK=1 for the kernel (notebooks shrink their runs)")
    ap.add_argument(
        "--timeout",
        type=float,
        default=float(os.environ.get("KIT_NB_TIMEOUT", "1800")),
        help="per-cell timeout in seconds (default: $KIT_NB_TIMEOUT or 1800)",
    )
    ap.add_argument("--startup-timeout", type=float, default=120, help="kernel start timeout in seconds (default 120)")
    ap.add_argument("--settle-ms", type=float, default=300, help="wait after the last cell to catch late async errors (0: off)")
    ap.add_argument("--out", default=None, help="output folder (default: <project>/reports/notebooks)")
    ap.add_argument("--no-html", action="store_true", help="skip the nbconvert HTML export")
    ap.add_argument("--keep-going", action="store_true", help="run the remaining notebooks after a failure")
    ap.add_argument("--kernel", default=kernelspec.KERNEL_NAME, help="kernel name (default: the project's tslab)")
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.timeout <= 0:
        sys.stderr.write(f"run.py: --timeout must be > 0 seconds, got {args.timeout}\n")
        return 2
    root = kernelspec.project_root()
    kernelspec.setup(root)
    if args.quick:
        os.environ["KIT_QUICK"] = "1"
    paths = args.notebooks or sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb")))
    if not paths:
        sys.stderr.write("run.py: no notebooks found in notebooks/\n")
        return 2
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        sys.stderr.write(f"run.py: notebook not found: {', '.join(missing)}\n")
        return 2
    if not os.path.isfile(os.path.join(root, "build", "lib", "viz", "index.js")):
        sys.stderr.write("run.py: build/lib is missing: compile first with `npx tsc -p .`\n")
        return 2
    out_dir = os.path.abspath(args.out or os.path.join(root, "reports", "notebooks"))
    os.makedirs(out_dir, exist_ok=True)
    quick = os.environ.get("KIT_QUICK", "")
    print(f"notebooks: {len(paths)}; kernel {args.kernel}; KIT_QUICK={quick or '(unset)'}; cell timeout {args.timeout:g} s; out {out_dir}", flush=True)
    failed = []
    for p in paths:
        if not run_one(p, args, out_dir):
            failed.append(p)
            if not args.keep_going:
                break
    if failed:
        print(f"FAILED {len(failed)} notebook(s): {', '.join(failed)}", flush=True)
        return 1
    print(f"all {len(paths)} notebook(s) passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
