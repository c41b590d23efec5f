"""The code verifier: the final Python (or C++17) block of a completion run against the problem's tests in an OS
sandbox, judged the way the dataset's own judge judges it.

Modules: `verifier` (CodeVerifier, the registry's `code`), `extract` (the program and its language out of the
answer), `testcases` (TestSuite and the project's own test forms), `formats` (the datasets' own formats:
LiveCodeBench, APPS/TACO, CodeContests, open-r1 Codeforces, SYNTHETIC-1, KodCode, HumanEval, MBPP), `datafields`
(their limits, LiveCodeBench's restricted unpickling, any-case statements), `run` (one program against one suite:
stdio tests), `calls` (function, assert and pytest tests), `outcomes` (limits per problem, per-test results),
`checker` (a problem's checker), `interactive` (a problem's interactor), `toolchain` (C++ compilation, pytest for
the checker sandbox), `compare` (outputs judged in the parent), `harness` (the only code run inside the sandbox),
`sandbox` (bubblewrap launcher; its docstring says what is and is not covered), `sandbox_check` (the start-up proof
of the isolation), `pump` (capped pipe reading), `cgroup` (memory and process limits where a cgroup is writable).
"""

from verifiers.code.verifier import CodeVerifier

__all__ = ["CodeVerifier"]
