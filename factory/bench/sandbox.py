"""Benchmark of the code sandbox: executions per second and the cost of one execution, split into its phases.

    python -m factory.bench.sandbox [--programs 40] [--repeats 3] [--concurrency 1 2]

Prints, as medians over `--repeats` batches:
- executions/s of the code verifier (one stdio test per program, end to end: extraction, sandbox, comparison)
  for trivial programs and for CPU-heavy ones (about 0.3 s of CPU each), at each concurrency, and executions per
  core: per CPU-second spent by the verifier and its sandboxes (getrusage of this process and its children), the
  figure that does not depend on how loaded a shared machine is;
- the cost of one sandboxed execution split into: sandbox set-up (bwrap: namespaces, mounts, until the program's
  pid 1 is known), interpreter start (python start-up and harness, until the program's first line), run time (the
  program itself), and teardown (program end to the sandbox fully reaped); the same for `unsafe_no_sandbox` (plain
  subprocess) for comparison, and for a CPU-heavy program.
Timing lives here, never in the tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

TRIVIAL = "a, b = map(int, input().split())\nprint(a + b)"
HEAVY = "a, b = map(int, input().split())\ns = 0\nfor i in range(2_500_000):\n    s += i * i % 7\nprint(a + b + s * 0)"
PHASES = ("import time\nt0 = time.time()\na, b = map(int, input().split())\nprint(a + b)\n"
          "print(t0, time.time())")
PHASES_HEAVY = PHASES.replace("print(a + b)", "s = 0\nfor i in range(2_500_000):\n    s += i * i % 7\nprint(a + b)")


def _verifier(concurrency: int, unsafe: bool = False):
    from verifiers.code import CodeVerifier

    return CodeVerifier(timeout_s=10, memory_mb=512, concurrency=concurrency, unsafe_no_sandbox=unsafe)


def _cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _throughput(program: str, programs: int, repeats: int, concurrency: int) -> tuple[float, float, int]:
    from verifiers.types import Completion, Prompt

    tests = {"type": "stdio", "cases": [{"input": "2 3\n", "output": "5\n"}]}
    prompt = Prompt("bench", (), "add", tests)
    batch = [Completion("bench", i, f"<think>\nok\n</think>\n```python\n{program}\n```") for i in range(programs)]
    rates, per_core, accepted = [], [], 0
    with _verifier(concurrency) as verifier:
        for _ in range(repeats):
            started, cpu = time.perf_counter(), _cpu_seconds()
            verdicts = verifier.verify_batch(prompt, batch)
            rates.append(programs / (time.perf_counter() - started))
            per_core.append(programs / max(1e-9, _cpu_seconds() - cpu))
            accepted = sum(v.accepted for v in verdicts)
    return statistics.median(rates), statistics.median(per_core), accepted


def _phases(runs: int, unsafe: bool, program: str = PHASES) -> dict[str, float]:
    """Median milliseconds per phase of one execution, measured around `Sandbox.start` and `finish`."""
    from verifiers.code.sandbox import Limits
    from verifiers.code.pump import Pump

    verifier = _verifier(1, unsafe)
    sandbox, limits = verifier.sandbox, Limits(wall_s=10, cpu_s=10, memory_mb=512)
    samples: dict[str, list[float]] = {"setup": [], "interpreter": [], "run": [], "teardown": [], "total": []}
    try:
        for _ in range(runs):
            t0 = time.time()
            execution = sandbox.start("stdio", ["{workdir}"], limits, files={"main.py": program.encode()},
                                      stdin=b"2 3\n")
            t1 = time.time()
            pump = Pump()
            out = pump.read("stdout", execution.stdout, 1 << 16)
            pump.read("stderr", execution.stderr, 1 << 16)
            pump.run(pump.all_eof, time.monotonic() + 10)
            execution.finish()
            pump.close()
            t_end = time.time()
            began, ended = map(float, bytes(out.data).split(b"\n")[1].split())
            for name, value in (("setup", t1 - t0), ("interpreter", began - t1), ("run", ended - began),
                                ("teardown", t_end - ended), ("total", t_end - t0)):
                samples[name].append(value * 1000)
    finally:
        verifier.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=40, help="programs per batch (one execution each)")
    parser.add_argument("--repeats", type=int, default=3, help="batches per figure; the median is printed")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2], help="sandboxes at once")
    parser.add_argument("--phase-runs", type=int, default=30, help="executions timed for the phase split")
    args = parser.parse_args()
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}, "
          f"running as {'root' if os.geteuid() == 0 else 'uid ' + str(os.geteuid())}")
    print(f"\nexecutions/s (code verifier end to end, 1 stdio test each; median of {args.repeats} batches of "
          f"{args.programs})")
    for label, program in (("trivial", TRIVIAL), ("cpu-heavy", HEAVY)):
        for concurrency in args.concurrency:
            rate, per_core, accepted = _throughput(program, args.programs, args.repeats, concurrency)
            print(f"  {label:9s} concurrency {concurrency}: {rate:7.1f} executions/s, {per_core:6.1f} per core "
                  f"(per CPU-second)  ({accepted}/{args.programs} accepted in the last batch)")
    print(f"\ncost of one execution, ms (median of {args.phase_runs}): setup | interpreter | run | teardown | total")
    for label, unsafe, program in (("trivial, sandboxed", False, PHASES), ("trivial, unsafe", True, PHASES),
                                   ("cpu-heavy, sandboxed", False, PHASES_HEAVY)):
        phases = _phases(args.phase_runs, unsafe, program)
        print(f"  {label:21s} " + " | ".join(f"{phases[k]:6.1f}" for k in
                                               ("setup", "interpreter", "run", "teardown", "total")))


if __name__ == "__main__":
    main()
