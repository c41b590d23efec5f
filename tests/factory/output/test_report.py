"""The run report's data: each verifier's evidence found again in the trace (real verifiers, real rows), long traces
cut around their evidence, bounded seeded samples from a real `factory verify` run folder, the page's inlining, and
the `factory report` / `factory stats` commands. The page itself is opened in Chromium in test_report_browser.py."""

from __future__ import annotations

import json
import re

import pytest

from factory.cli import EXIT_OK, EXIT_USAGE, main
from factory.output.report import build_report
from factory.output.report.data import collect
from factory.output.report.evidence import evidence, find_flexible, segments
from factory.output.report.page import json_for_script, render
from factory.output.rows import build_row
from tests.conftest import write_jsonl
from verifiers.registry import create_verifier
from verifiers.types import Completion, Prompt


def judged_row(verifier: str, text: str, gold: str = "7", finish_reason: str = "stop", tokens: int = 0,
               params: dict | None = None) -> dict:
    """A real output row: `text` judged by the real verifier, stored with `build_row`, as the report reads it."""
    prompt = Prompt("p", ({"role": "user", "content": "q"},), "What is 3 + 4?", gold)
    completion = Completion("p", 0, text, finish_reason=finish_reason, completion_tokens=tokens)
    check = create_verifier(verifier, params or {})
    try:
        verdict = check.verify(prompt, completion)
    finally:
        check.close()
    row = build_row(prompt, completion, [verdict], accepted=verdict.status == "accepted", run_info={})
    return {**row, "text": text}


def marked(row: dict) -> list[str]:
    marks, _ = evidence(row)
    return [row["text"][s:e] for s, e, _ in marks]


def note_items(row: dict) -> dict[str, str]:
    _, notes = evidence(row)
    return {k: v for note in notes for k, v in note["items"]}


def test_math_evidence_is_the_graded_box_against_the_gold():
    text = "<think>\nMaybe \\boxed{7}? No: 3 + 4 = 8.\n</think>\n\nSo \\boxed{\\frac{16}{2}}."
    row = judged_row("math", text)
    assert row["rejection_reasons"] == ["math:wrong_answer"]
    assert marked(row) == ["\\boxed{\\frac{16}{2}}"]  # the last box after </think>, braces balanced
    items = note_items(row)
    assert items["gold"] == "7" and "16" in items["answer"]


def test_language_evidence_is_the_foreign_sentence_found_despite_normalised_whitespace():
    foreign = "我们需要把这两个数相加，  然后检查结果是否正确。"
    text = f"<think>\nWe add three and four, which gives seven in total.\n{foreign}\n</think>\n\nThe answer is 7."
    row = judged_row("language", text)
    assert row["rejection_reasons"] == ["language:language_mixing"]
    assert len(marked(row)) == 1 and marked(row)[0].startswith("我们需要")
    assert "  " in marked(row)[0]  # found in the trace although the verdict quotes it with single spaces
    items = note_items(row)
    assert items["its language"].startswith("zh") and items["expected language"] == "en"


def test_repetition_evidence_marks_the_repeated_line():
    line = "So the total is the sum of the two numbers."
    text = "<think>\n" + f"{line}\n" * 8 + "</think>\n\nThe answer is \\boxed{7}."
    row = judged_row("repetition", text)
    assert row["rejection_reasons"] == ["repetition:repetition_loop"]
    assert marked(row) and set(marked(row)) == {line} and len(marked(row)) <= 6
    assert note_items(row)["times"] == "8"


def test_truncation_evidence_is_the_point_where_the_trace_stops():
    text = "<think>\nWe add 3 and 4 and then we keep going and going"
    row = judged_row("format", text, finish_reason="length", tokens=64)
    assert row["rejection_reasons"] == ["format:truncated"]
    marks, _ = evidence(row)
    assert marks == [(len(text), len(text), "format: truncated here")]
    assert "64 tokens" in note_items(row)["stopped"]


def test_code_evidence_is_the_failing_tests_input_and_expected_output():
    tests = {"type": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "-5 5\n", "output": "0\n"}]}
    text = "<think>\nAdd them.\n</think>\n\n```python\na, b = map(int, input().split())\nprint(abs(a) + b)\n```"
    row = judged_row("code", text, gold=json.dumps(tests))
    assert row["rejection_reasons"] == ["code:wrong_output"]
    items = note_items(row)
    assert items["failing test"] == "#1: wrong_output"
    assert items["input"] == "-5 5\n" and items["expected"] == "0\n"
    assert items["tests passed"] == "1 of 2"


def test_accepted_rows_give_no_evidence():
    row = judged_row("math", "<think>\n3 + 4 = 7.\n</think>\n\nThe answer is \\boxed{7}.")
    assert row["accepted"] and evidence(row) == ([], [])


def test_long_trace_keeps_head_tail_and_a_window_around_the_evidence():
    text = "a" * 20_000 + "EVIDENCE" + "b" * 20_000
    start = text.index("EVIDENCE")
    pieces = segments(text, [(start, start + 8, "x: here")], limit=4000)
    kept = "".join(p for p, label in pieces if label != "elided")
    assert ["EVIDENCE", "x: here"] in pieces
    assert kept.startswith("a" * 1000) and kept.endswith("b" * 1000) and len(kept) < 6000
    elided = [int(re.search(r"\d+", p).group()) for p, label in pieces if label == "elided"]
    assert len(elided) == 2 and sum(elided) + len(kept) == len(text)
    assert segments("short", [(5, 5, "end")], limit=4000) == [["short", None], ["", "end"]]


def test_find_flexible_matches_up_to_whitespace():
    assert find_flexible("x  one\n two y", "one two") == (3, 11)
    assert find_flexible("nothing here", "one two") is None


def test_script_json_cannot_close_its_element():
    assert "</script" not in json_for_script({"t": "</script><script>alert(1)</script>"})
    page = render({**collect_stub(), "samples": {"by_reason": {}, "rows": {}}})
    assert page.count("<script") == 3
    assert "<title>Run report: {{CHART_JS}}</title>" in page  # one pass: a value is never substituted again


def collect_stub() -> dict:
    return {"run": {"folder": "x", "recipe": "{{CHART_JS}}"}, "stats": {}, "funnel": {}, "per_verifier": {},
            "prompts": {"bins": [], "prompts": [], "pass_at_k": [], "adaptive": False},
            "lengths": {"edges": []}, "units": [], "pairs": [], "judge": {}, "sampling": {}}


GOOD = "<think>\nWe add {a} and {b}, which gives {s}.\n</think>\n\nAdding them gives {s}, so the answer is \\boxed{{{s}}}."


def traces(prompts: int = 6, per_prompt: int = 5) -> list[dict]:
    rows = []
    for i in range(prompts):
        a, b = i + 2, 3 * i + 1
        for j in range(per_prompt):
            s = a + b + (j % 3 == 1)  # every third sample has a wrong answer
            rows.append({"id": f"p{i}", "problem": f"What is {a} + {b}?", "answer": str(a + b),
                         "completion": GOOD.format(a=a, b=b, s=s) + " " * j})
    return rows


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    inp = write_jsonl(tmp / "traces.jsonl", traces())
    out = tmp / "run"
    assert main(["verify", "--recipe", "tiny", "--input", str(inp), "--out", str(out), "--log-json",
                 "--set", "output.prompts_per_shard=2"]) == EXIT_OK
    return out


def test_every_completed_run_writes_its_report(run_dir):
    page = (run_dir / "report.html").read_text()
    assert "math:wrong_answer" in page and "Content-Security-Policy" in page


def test_samples_are_bounded_per_reason_and_seeded(run_dir):
    stats = json.loads((run_dir / "stats.json").read_text())
    data = collect(run_dir, per_reason=2, seed=1)
    by_reason = data["samples"]["by_reason"]
    assert set(by_reason) == set(stats["funnel"]["rejected_by_reason"]) | {"accepted"}
    assert all(len(ids) == min(2, stats["funnel"]["rejected_by_reason"].get(r, stats["funnel"]["accepted"]))
               for r, ids in by_reason.items())
    assert set(data["samples"]["rows"]) == {i for ids in by_reason.values() for i in ids}
    again, other = collect(run_dir, per_reason=2, seed=1), collect(run_dir, per_reason=2, seed=2)
    assert again["samples"]["by_reason"] == by_reason
    assert any(other["samples"]["by_reason"][r] != ids for r, ids in by_reason.items())
    assert data["samples"]["rows"][by_reason["math:wrong_answer"][0]]["trace"][-2][1] == "math: graded answer"


def test_aggregates_match_the_run(run_dir):
    data = collect(run_dir)
    assert sum(data["prompts"]["prompts"]) == 6 and data["prompts"]["prompts"][4] == 6  # 3 of 5 passed: 60-79%
    assert [k for k, _ in data["prompts"]["pass_at_k"]] == [1, 2, 3, 4, 5]
    assert data["prompts"]["pass_at_k"][0][1] == pytest.approx(json.loads(
        (run_dir / "stats.json").read_text())["estimates"]["pass@1"], abs=1e-4)
    lengths = data["lengths"]
    assert lengths["unit"] == "characters"  # verify input has no token counts
    assert sum(lengths["counts"]["accepted"]) + sum(lengths["counts"]["rejected"]) == 30
    assert [u["unit"] for u in data["units"]] == [0, 1, 2] and sum(u["generated"] for u in data["units"]) == 30
    assert data["judge"] == {} and data["pairs"]


def test_judge_section_only_when_stats_hold_one(run_dir, tmp_path):
    stats_path = run_dir / "stats.json"
    original = stats_path.read_text()
    try:
        stats_path.write_text(json.dumps({**json.loads(original), "judge": {"calibration": [
            {"score": 1, "agreement": 0.9}]}}))
        assert collect(run_dir)["judge"] == {"judge": {"calibration": [{"score": 1, "agreement": 0.9}]}}
    finally:
        stats_path.write_text(original)


def test_report_command_and_stats_engine_line(run_dir, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(run_dir), "--out", str(out), "--per-reason", "1"]) == EXIT_OK
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", str(tmp_path)]) == EXIT_USAGE
    stats_path = run_dir / "stats.json"
    original = stats_path.read_text()
    try:
        stats_path.write_text(json.dumps({**json.loads(original), "engine": {"requests": 12, "retries": 3,
                                                                             "estimated_cost_usd": 0.25}}))
        assert main(["stats", str(run_dir)]) == EXIT_OK
        assert "engine     requests 12, retries 3, estimated_cost_usd 0.25" in capsys.readouterr().out
    finally:
        stats_path.write_text(original)


def test_build_report_size_is_bounded_by_the_sample(run_dir, tmp_path):
    small = build_report(run_dir, tmp_path / "one.html", per_reason=1)
    large = build_report(run_dir, tmp_path / "all.html", per_reason=100)
    assert small.stat().st_size < large.stat().st_size
