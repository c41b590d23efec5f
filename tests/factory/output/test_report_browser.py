"""The report of a real (tiny) run, opened from disk in a real headless Chromium (Debian's `chromium` and
`chromium-driver`, installed by `python3 -m factory.setup_venv --extras test`): the funnel chart holds the run's
funnel, the sample browser shows each reason's samples with the evidence marked, no console error is logged, no
request leaves the page (Chrome's performance log of network events, and the page's own CSP refusing a fetch), and a
screenshot is kept as a test artifact (the test's tmp dir, and `test-artifacts/report.png`, ignored by git)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import Select, WebDriverWait

from factory.cli import EXIT_OK, main
from tests.conftest import PROJECT_ROOT, write_jsonl

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,2000"]


def traces() -> list[dict]:
    """Ready-made completions for four prompts: right, wrong, unanswered, mixing languages, looping, cut short."""
    rows = []
    for i, (a, b) in enumerate([(3, 4), (12, 30), (7, 8), (100, 23)]):
        s = a + b

        def good(extra: str = "", answer: int = s) -> str:
            return (f"<think>\nWe need {a} + {b}. Adding the two numbers step by step gives {s}.{extra}\n</think>\n\n"
                    f"Adding {a} and {b} gives {answer}, so the answer is \\boxed{{{answer}}}.")

        samples = [good(), good(" Let me double-check: the sum is right."), good(answer=s + 1),
                   f"<think>\nWe need {a} + {b}. The sum is {s}.\n</think>\n\nThe sum is {s}.",
                   good(" 我们需要把这两个数相加，然后检查结果是否正确。"),
                   good("\nSo the total is the sum of the two numbers." * 8),
                   f"<think>\nWe need {a} + {b} and then keep going"]
        rows += [{"id": f"p{i}", "problem": f"What is {a} + {b}?", "answer": str(s), "completion": c}
                 for c in samples[: 4 + i]]
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    inp = write_jsonl(tmp / "traces.jsonl", traces())
    assert main(["verify", "--recipe", "tiny", "--input", str(inp), "--out", str(tmp / "run"), "--log-json",
                 "--set", "output.prompts_per_shard=2"]) == EXIT_OK
    return tmp / "run"


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM and DRIVER, "chromium and chromedriver are needed: python3 -m factory.setup_venv --extras test"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="report-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requests_sent(driver) -> list[tuple[str, str]]:
    """(loaderId, url) of every request the browser began since the last call (Chrome's performance log)."""
    events = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    return [(e["params"].get("loaderId", ""), e["params"]["request"]["url"]) for e in events
            if e["method"] == "Network.requestWillBeSent"]


def test_report_opens_offline_with_funnel_and_evidence(report, browser, tmp_path):
    stats = json.loads((report / "stats.json").read_text())
    funnel = stats["funnel"]
    requests_sent(browser), browser.get_log("browser")  # drop what the browser did before the page
    url = (report / "report.html").resolve().as_uri()
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")

    # The funnel chart: generated, each verifier:reason, passed, accepted, pairs, with the run's figures.
    chart = browser.execute_script("var c = Chart.getChart('funnel'); return [c.data.labels, c.data.datasets[0].data,"
                                   " c.canvas.width, c.canvas.height];")
    reasons = list(funnel["rejected_by_reason"])
    assert chart[0] == ["generated", *reasons, "passed", "accepted", "pairs"]
    assert chart[1] == [funnel["generated"], *funnel["rejected_by_reason"].values(), funnel["passed"],
                        funnel["accepted"], funnel["pairs"]]
    assert chart[2] > 300 and chart[3] > 100
    assert {"math:wrong_answer", "language:language_mixing", "repetition:repetition_loop"} <= set(reasons)

    # The sample browser: one option per reason (and accepted); each reason's samples with their evidence marked.
    picker = Select(browser.find_element("id", "reason"))
    assert [o.get_attribute("value") for o in picker.options][-1] == "accepted"
    assert set(reasons) <= {o.get_attribute("value") for o in picker.options}
    expected_marks = {"math:wrong_answer": ("math: graded answer", "\\boxed{"),
                      "language:language_mixing": ("language: sentence in 'zh", "我们需要"),
                      "repetition:repetition_loop": ("repetition: repeated", "So the total is")}
    for reason, (label, text) in expected_marks.items():
        picker.select_by_value(reason)
        cards = browser.find_elements("css selector", "#samples article.sample")
        assert len(cards) == funnel["rejected_by_reason"][reason]  # fewer than 20: every one is shown
        for card in cards:
            assert reason in card.find_element("tag name", "h3").text
            marks = card.find_elements("css selector", "pre.trace mark")
            assert any(m.get_attribute("data-label").startswith(label) and m.text.startswith(text) for m in marks)
    picker.select_by_value("math:wrong_answer")
    evidence = browser.find_element("css selector", "#samples .evidence").text
    assert "answer" in evidence and "gold" in evidence

    pairs = browser.find_elements("css selector", "#pairs article.pair")
    assert len(pairs) == min(10, funnel["pairs"]) and not browser.find_element("id", "judge").is_displayed()

    browser.execute_script("document.getElementById('browser').scrollIntoView();")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    artifacts = PROJECT_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(shot, artifacts / "report.png")

    # Nothing logged, nothing requested but the page itself; and the page's CSP refuses a request if one is tried.
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    # The browser's own start page (chrome://) may still be loading in the log: the page's requests are those of
    # its document's loader, and none at all, from anywhere, went to the network.
    sent = requests_sent(browser)
    page_loader = next(loader for loader, sent_url in sent if sent_url == url)
    assert [u for loader, u in sent if loader == page_loader] == [url]
    assert not [u for _, u in sent if u.startswith(("http:", "https:", "ws:", "wss:"))]
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    refused = browser.execute_async_script("var done = arguments[0]; fetch('http://127.0.0.1:9/x')"
                                           ".then(function () { done('sent'); }, function (e) { done(String(e)); });")
    assert refused != "sent"
    assert any("Content Security Policy" in e["message"] for e in browser.get_log("browser"))


def test_judge_calibration_is_shown_when_the_run_has_one(report, browser, tmp_path):
    from factory.output.report import build_report

    stats = json.loads((report / "stats.json").read_text())
    folder = tmp_path / "run"
    shutil.copytree(report, folder)
    calibration = [{"judge_score": 1, "samples": 40, "verifier_agreement": 0.92},
                   {"judge_score": 0, "samples": 12, "verifier_agreement": 0.75}]
    (folder / "stats.json").write_text(json.dumps({**stats, "judge": {"model": "j", "calibration": calibration}}))
    page = build_report(folder)
    browser.get(page.resolve().as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready") == "1")
    judge = browser.find_element("id", "judge")
    assert judge.is_displayed()
    rows = [[c.text for c in r.find_elements("css selector", "th, td")]
            for r in judge.find_elements("css selector", "table:first-of-type tr")]
    assert rows[:3] == [["judge_score", "samples", "verifier_agreement"], ["1", "40", "0.92"], ["0", "12", "0.75"]]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
