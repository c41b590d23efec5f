"""The code verifier: the final Python block of a completion run against the problem's tests in an OS sandbox.

Modules: `verifier` (CodeVerifier, the registry's `code`), `extract` (the program out of the answer), `testcases`
(the three test forms: stdio, function, assert), `run` (one program against one suite), `compare` (outputs judged
in the parent), `harness` (the only code run inside the sandbox), `sandbox` (bubblewrap launcher; its docstring says
what is and is not covered), `sandbox_check` (the start-up proof of the isolation), `pump` (capped pipe reading),
`cgroup` (memory and process limits where a cgroup is writable).
"""

from verifiers.code.verifier import CodeVerifier

__all__ = ["CodeVerifier"]
