#!/usr/bin/python3
"""Project-local Jupyter environment for the kit's tslab kernel.

Generates (at run time, never committed) a kernelspec named "tslab" under
<project>/.cache/jupyter/kernels/tslab/kernel.json whose argv runs this checkout's
node_modules/tslab (through scripts/notebooks/tslab-kernel.js) with the node found on PATH, and returns the environment variables that make
Jupyter find it and keep all Jupyter state (runtime files, notebook secret, signatures) inside
<project>/.cache/jupyter. Nothing outside the checkout is written, so moving or re-cloning the
checkout only needs this script to run again (the runner and jupyter.sh do that every time).

CLI:
  /usr/bin/python3 scripts/notebooks/kernelspec.py            # (re)write kernel.json, print its path
  /usr/bin/python3 scripts/notebooks/kernelspec.py --print-env  # also print `export` lines for a shell
"""

import json
import os
import shlex
import shutil
import sys

KERNEL_NAME = "tslab"
DISPLAY_NAME = "TypeScript (softprompt-kit)"


def project_root() -> str:
    """The checkout root: two levels above this file (scripts/notebooks/)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def jupyter_dir(root: str) -> str:
    return os.path.join(root, ".cache", "jupyter")


def tslab_bin(root: str) -> str:
    """tslab's entry point wrapped by scripts/notebooks/tslab-kernel.js (ZeroMQ sends serialised per socket)."""
    path = os.path.join(root, "node_modules", "tslab", "bin", "tslab")
    if not os.path.isfile(path):
        raise SystemExit(
            f"kernelspec.py: {path} not found: tslab is not installed in this checkout (run `npm ci`)"
        )
    return os.path.join(root, "scripts", "notebooks", "tslab-kernel.js")


def node_bin() -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("kernelspec.py: `node` is not on PATH; the tslab kernel needs Node.js >= 20")
    return os.path.realpath(node)


def kernel_json(root: str) -> dict:
    return {
        "argv": [node_bin(), tslab_bin(root), "kernel", "--config-path", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "typescript",
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }


def write_kernelspec(root: str) -> str:
    """Writes kernel.json (only if its content changed) and returns its path."""
    kdir = os.path.join(jupyter_dir(root), "kernels", KERNEL_NAME)
    os.makedirs(kdir, exist_ok=True)
    path = os.path.join(kdir, "kernel.json")
    text = json.dumps(kernel_json(root), indent=2) + "\n"
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
    if old != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return path


def jupyter_env(root: str) -> dict:
    """Environment variables for any Jupyter process that should use the project kernel."""
    jdir = jupyter_dir(root)
    return {
        # Highest-priority data path: our kernels/tslab shadows any user/global "tslab" kernel.
        "JUPYTER_PATH": jdir,
        # Keep runtime files, the notebook secret and the trust database inside the checkout.
        "JUPYTER_RUNTIME_DIR": os.path.join(jdir, "runtime"),
        "JUPYTER_DATA_DIR": os.path.join(jdir, "data"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def setup(root: str = None) -> dict:
    """Writes the kernelspec, applies the environment to os.environ, and returns it."""
    root = root or project_root()
    write_kernelspec(root)
    env = jupyter_env(root)
    for d in (env["JUPYTER_RUNTIME_DIR"], env["JUPYTER_DATA_DIR"]):
        os.makedirs(d, exist_ok=True)
    os.environ.update(env)
    return env


def main(argv) -> int:
    root = project_root()
    path = write_kernelspec(root)
    if "--print-env" in argv:
        for key, value in jupyter_env(root).items():
            print(f"export {key}={shlex.quote(value)}")
    else:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
