from factory.output.rows import build_row
from verifiers.types import Completion, Prompt, Verdict, chat, split_think


def test_split_think_ok():
    s = split_think("<think>\nwork\n</think>\n\nThe answer is \\boxed{3}.")
    assert (s.state, s.reasoning, s.answer) == ("ok", "work", "The answer is \\boxed{3}.")


def test_split_think_opened_by_template():
    s = split_think("work\n</think>\nanswer")
    assert (s.state, s.reasoning, s.answer) == ("ok", "work", "answer")


def test_split_think_unclosed_gives_no_answer():
    s = split_think("<think>\nwork \\boxed{3}")
    assert s.state == "unclosed_think" and s.answer == "" and "boxed" in s.reasoning


def test_split_think_missing_multiple_and_prefixed():
    assert split_think("just text").state == "missing_think"
    assert split_think("<think>a</think><think>b</think>c").state == "multiple_think"
    assert split_think("<think>a</think>b</think>c").state == "multiple_think"
    assert split_think("hello <think>a</think> b").state == "text_before_think"
    assert split_think("</think> a <think>").state == "multiple_think"


def test_build_row_carries_the_contract_fields():
    prompt = Prompt("p1", chat("sys", "What is 1+1?"), "What is 1+1?", "2", "arith", {"kind": "add"})
    completion = Completion("p1", 3, "<think>\n1+1=2\n</think>\n\\boxed{2}", "stop", 10, 12)
    verdicts = [Verdict.accept("format"), Verdict.reject("math", "wrong_answer", extracted="3")]
    row = build_row(prompt, completion, verdicts, accepted=False, run_info={"model": "m", "recipe": "r"})
    assert row["id"] == "p1#3" and row["sample_index"] == 3
    assert row["completion"] == [{"role": "assistant", "content": completion.text}]
    assert [m["role"] for m in row["prompt"]] == ["system", "user"] and row["problem"] == "What is 1+1?"
    assert row["reasoning"] == "1+1=2" and row["answer"] == "\\boxed{2}"
    assert row["rejection_reasons"] == ["math:wrong_answer"]
    assert row["verdicts"][1]["details"] == '{"extracted": "3"}'
    assert Verdict.from_row(row["verdicts"][1]) == verdicts[1]
