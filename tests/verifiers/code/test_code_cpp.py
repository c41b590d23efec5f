"""C++17: the language of the completion's last accepted fenced block picks the toolchain; g++ -O2 once per sample in
a sandbox; the binary runs under the same sandbox and the problem's limits; `compile_error` and `wrong_language`."""

from __future__ import annotations

import pytest

from tests.verifiers.code.code_helpers import prompt, verifier_kwargs
from verifiers.code import CodeVerifier
from verifiers.code.extract import extract_program
from verifiers.code.toolchain import have_compiler
from verifiers.types import Completion

pytestmark = pytest.mark.skipif(not have_compiler(), reason="g++ is installed by factory/setup_venv.py")

ADD = {"type": "stdio", "time_limit": 1, "memory_limit": 256,
       "cases": [{"input": "2 3\n", "output": "5\n"}, {"input": "1500000000 1500000000\n", "output": "3000000000\n"}]}
GOOD = ("#include <bits/stdc++.h>\nusing namespace std;\n"
        "int main() { long long a, b; cin >> a >> b; cout << a + b << '\\n'; }")


def _completion(code: str, lang: str, index: int = 0) -> Completion:
    return Completion("p", index, f"<think>\nok\n</think>\n\n```{lang}\n{code}\n```\n")


@pytest.mark.parametrize("answer,languages,found", [
    ("```cpp\nint main(){}\n```", ("python", "cpp"), ("cpp", "int main(){}\n")),
    ("```python\nx=1\n```\n```c++\nint main(){}\n```", ("python", "cpp"), ("cpp", "int main(){}\n")),  # the last
    ("```cpp\nint main(){}\n```\n```python\nx=1\n```", ("python", "cpp"), ("python", "x=1\n")),
    ("```cpp\nint main(){}\n```", ("python",), None),  # a language the recipe does not accept
    ("```cpp\nint main(){}\n```\n```\nx=1\n```", ("python", "cpp"), ("cpp", "int main(){}\n")),  # tagged wins
    ("```\nx=1\n```", ("cpp",), None),  # untagged is Python
])
def test_the_last_accepted_block_picks_the_language(answer, languages, found):
    assert extract_program(answer, languages) == found


@pytest.fixture(scope="module")
def verifier():
    with CodeVerifier(**verifier_kwargs(languages=["python", "cpp"], timeout_s=3.0)) as v:
        yield v


def test_cpp_verdicts(verifier):
    programs = [
        (GOOD, "cpp", ("accepted", "")),
        (GOOD.replace("a + b", "a - b"), "cpp", ("rejected", "wrong_output")),
        (GOOD.replace("long long", "int"), "cpp", ("rejected", "wrong_output")),  # overflow, as on a judge
        ("int main( { return 0; }", "cpp", ("rejected", "compile_error")),
        ("int main() { volatile long s = 0; for (;;) s++; }", "cpp", ("rejected", "timeout")),
        ("#include <cstdlib>\nint main() { abort(); }", "c++", ("rejected", "runtime_error")),
        ("#include <vector>\nint main() { std::vector<char> v(512u << 20, 1); return v[7] - 1; }", "cpp",
         ("rejected", "memory_limit")),
        ("print(sum(map(int, input().split())))", "python", ("accepted", "")),
    ]
    verdicts = verifier.verify_batch(prompt(ADD), [_completion(code, lang, i) for i, (code, lang, _) in
                                                   enumerate(programs)])
    got = [(v.status, v.reason) for v in verdicts]
    assert got[:4] == [p[2] for p in programs[:4]] and got[4:6] == [p[2] for p in programs[4:6]]
    assert got[6][0] == "rejected" and got[6][1] in ("memory_limit", "runtime_error") and got[7] == programs[7][2]
    assert verdicts[0].details["language"] == "cpp" and verdicts[0].details["time_limit_s"] == 1.0  # no factor
    assert "error" in verdicts[3].details["message"]


def test_cpp_for_function_problems_and_file_io(verifier):
    function = {"type": "function", "fn_name": "f", "cases": [{"args": [1], "expected": 1}]}
    wrong = verifier.verify(prompt(function), _completion("int main() {}", "cpp"))
    assert (wrong.status, wrong.reason) == ("rejected", "wrong_language")
    tests = [{"input": "6 7\n", "output": "42\n"}]
    code = ("#include <cstdio>\nint main() { freopen(\"input.txt\", \"r\", stdin); freopen(\"output.txt\", \"w\", "
            "stdout); long long a, b; scanf(\"%lld %lld\", &a, &b); printf(\"%lld\\n\", a * b); }")
    verdict = verifier.verify(prompt(tests, input_mode="file", time_limit=1.0), _completion(code, "cpp"))
    assert verdict.accepted, verdict.details


def test_hostile_cpp_is_contained(verifier):
    hostile = {
        "fork bomb": "#include <unistd.h>\nint main() { for (;;) fork(); }",
        "write outside": "#include <cstdio>\nint main() { FILE *f = fopen(\"/usr/pwned\", \"w\"); "
                         "printf(f ? \"5\\n\" : \"0\\n\"); }",
        "network": "#include <sys/socket.h>\n#include <netinet/in.h>\n#include <cstdio>\nint main() { "
                   "int s = socket(AF_INET, SOCK_STREAM, 0); sockaddr_in a{}; a.sin_family = AF_INET; "
                   "a.sin_port = htons(80); a.sin_addr.s_addr = htonl(0x01010101); "
                   "printf(connect(s, (sockaddr*)&a, sizeof a) == 0 ? \"5\\n\" : \"0\\n\"); }",
        "flood": "#include <cstdio>\nint main() { for (;;) puts(\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"); }",
    }
    verdicts = verifier.verify_batch(prompt(ADD), [_completion(c, "cpp", i) for i, c in enumerate(hostile.values())])
    assert all(v.status == "rejected" for v in verdicts), [(v.status, v.reason) for v in verdicts]
    assert verdicts[3].reason == "output_limit"
