"""Tests that call into a serving candidate: function tests (calls sent from the verifier, values compared here)
and assert / pytest tests (the test code in a checker sandbox, joined to the candidate's by two pipes). See
`verifiers.code.run` for the rules."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace

from verifiers.code.compare import apps_values_match, values_match
from verifiers.code.harness import WireError, dumps, loads, to_wire
from verifiers.code.outcomes import (STARTUP_S, STDERR_CAP, exit_reason, files_for, limits_for, not_run, result,
                                     stop, tail, test_wall_s)
from verifiers.code.pump import Pump, Stream
from verifiers.code.sandbox import Execution
from verifiers.code.toolchain import pytest_binds


def run_function(sandbox, settings, source, suite, deadline) -> list[dict]:
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    began = time.monotonic()
    try:
        execution = sandbox.start("serve", ["{workdir}", str(req_r), str(resp_w)],
                                  limits_for(settings, deadline - began, deadline - began),
                                  files=files_for(source, suite), keep_fds=(req_r, resp_w))
    finally:
        os.close(req_r)
        os.close(resp_w)
    pump = Pump()
    replies = pump.read("replies", resp_r, settings.max_output_bytes)
    pump.read("stdout", execution.stdout, settings.max_output_bytes)
    err = pump.read("stderr", execution.stderr, STDERR_CAP, fatal=False)
    results: list[dict] = []
    pending = None  # (index, started, still in time) of a case that got no reply
    consumed = 0  # reply lines read so far (a design case sends several requests)

    def ask(message: list, until: float) -> tuple[bytes | None, bool]:
        nonlocal consumed
        pump.write(req_w, dumps(message))
        in_time = pump.run(lambda: replies.data.count(b"\n") > consumed or replies.eof, until)
        lines = replies.lines()
        if len(lines) <= consumed:
            return None, in_time
        consumed += 1
        return lines[consumed - 1], in_time

    try:
        for index, case in enumerate(suite.cases):
            started = time.monotonic()
            allowance = 2 * settings.timeout_s + (STARTUP_S if index == 0 else 0.0)
            until = min(started + allowance, deadline)
            if "calls" in case:
                judged, in_time = _design_case(ask, suite.fn_name, case, index, started, until)
            else:
                line, in_time = ask([suite.fn_name, to_wire(case["args"]), to_wire(case["kwargs"])], until)
                judged = None if line is None else _judge_reply(index, line, case["expected"], started, suite.unwrap)
            if judged is None:
                pending = (index, started, in_time)
                break
            results.append(judged)
            if results[-1]["status"] != "passed" and settings.stop_on_first_failure:
                break
    finally:
        pump.drop_writer(req_w)
        os.close(req_w)  # the server sees EOF and exits on its own
        overflow = pump.overflowed()
        # A program that stopped answering gets a moment to finish dying, so its exit status is known.
        wait = 2.0 if pending and pending[2] and overflow is None else 0.5
        pump.run(pump.all_eof, time.monotonic() + wait)
        status = stop(execution, pump, pump.all_eof())
        os.close(resp_r)
    if pending:
        index, started, in_time = pending
        if overflow is not None:
            results.append(result(index, "output_limit", started, f"{overflow.name} exceeded the output limit"))
        elif not in_time:
            results.append(result(index, "timeout", started))
        else:
            results.append(result(index, exit_reason(status, err, execution), started,
                                   f"the program ended (status {status}): {tail(err)}"))
    return not_run(results, len(suite.cases))


def _design_case(ask, class_name: str, case: dict, index: int, started: float, until: float):
    """A design problem: construct `class_name(*args)`, call its methods in order on that instance (it stays in the
    candidate's sandbox), and compare the list of results (None for the constructor) with the expected list."""
    line, in_time = ask([case.get("class", class_name), to_wire(case["args"]), to_wire({})], until)
    if line is None:
        return None, in_time
    try:
        reply = loads(line)
    except WireError:
        return result(index, "wrong_output", started, "malformed reply"), True
    if reply[:1] != ["obj"] or len(reply) != 3:
        return _judge_reply(index, line, object(), started), True  # the constructor failed or returned plain data
    handle, got = reply[1], [None]
    for number, (method, args) in enumerate(case["calls"], start=1):
        line, in_time = ask(["$method", handle, method, to_wire(args), to_wire({})], until)
        if line is None:
            return None, in_time
        try:
            reply = loads(line)
        except WireError:
            return result(index, "wrong_output", started, "malformed reply"), True
        if reply[:1] != ["ok"]:
            judged = _judge_reply(index, line, object(), started)
            judged["message"] = f"call {number} ({method}): " + judged.get("message", "")
            return judged, True
        got.append(reply[1])
    ok = values_match(got, case["expected"])
    return result(index, "passed" if ok else "wrong_output", started,
                  "" if ok else "a call returned a different value"), True


def _judge_reply(index: int, line: bytes, expected, started: float, unwrap: bool = False) -> dict:
    try:
        reply = loads(line)
        tag = reply[0]
    except (WireError, TypeError, IndexError, KeyError):
        return result(index, "wrong_output", started, "malformed reply")
    if tag == "ok" and len(reply) in (2, 3):
        same = apps_values_match if unwrap else values_match
        ok = same(reply[1], expected)
        if not ok and len(reply) == 3 and reply[1] is None and expected is not None:
            ok = same(reply[2], expected)  # an in-place function: its first argument after the call is the result
        return result(index, "passed" if ok else "wrong_output", started, "" if ok else "returned a different value")
    if tag == "load_error":
        reason = "memory_limit" if reply[1:2] == ["MemoryError"] else "runtime_error"
        return result(index, reason, started, f"loading the program failed: {reply[1:]}")
    if tag in ("raised", "missing"):
        return result(index, "runtime_error", started, f"{tag}: {reply[1:]}")
    return result(index, "wrong_output", started, f"{tag}: {reply[1:]}")


def run_assert(sandbox, settings, source, suite, deadline) -> dict:
    started = time.monotonic()
    to_cand_r, to_cand_w = os.pipe()
    to_check_r, to_check_w = os.pipe()
    result_r, result_w = os.pipe()
    limits = limits_for(settings, min(test_wall_s(settings), deadline - started))
    executions: list[Execution] = []
    try:
        executions.append(sandbox.start("serve", ["{workdir}", str(to_cand_r), str(to_check_w)], limits,
                                        files=files_for(source, suite), keep_fds=(to_cand_r, to_check_w)))
        test_code = suite.check_code.encode("utf-8", "surrogatepass")
        if suite.kind == "pytest":  # real pytest, bound read-only into the checker's sandbox
            executions.append(sandbox.start(
                "pytest", ["{workdir}", str(to_cand_w), str(to_check_r), str(result_w),
                           str(settings.max_output_bytes)], replace(limits, memory_mb=max(limits.memory_mb, 512)),
                files={"test_solution.py": test_code}, keep_fds=(to_cand_w, to_check_r, result_w),
                binds=pytest_binds()))
        else:
            executions.append(sandbox.start(
                "check", ["{workdir}", str(to_cand_w), str(to_check_r), str(result_w), suite.entry_point,
                          str(settings.max_output_bytes)], limits,
                files={"check.py": test_code}, keep_fds=(to_cand_w, to_check_r, result_w)))
    except BaseException:
        for execution in executions:
            execution.kill()
            execution.finish()
        os.close(result_r)
        raise
    finally:
        for fd in (to_cand_r, to_cand_w, to_check_r, to_check_w, result_w):
            os.close(fd)
    candidate, checker = executions
    pump = Pump()
    report = pump.read("result", result_r, 1 << 16, fatal=False)
    pump.read("stdout", candidate.stdout, settings.max_output_bytes)
    cand_err = pump.read("stderr", candidate.stderr, STDERR_CAP, fatal=False)
    pump.read("checker stdout", checker.stdout, 1 << 16, fatal=False)
    check_err = pump.read("checker stderr", checker.stderr, 1 << 16, fatal=False)
    finished = pump.run(lambda: report.eof, started + limits.wall_s)
    overflow = pump.overflowed()
    pump.run(pump.all_eof, time.monotonic() + 0.5)  # the candidate exits once the checker has closed its pipe
    status = stop(candidate, pump, pump.all_eof())
    checker.kill()
    checker.finish()
    os.close(result_r)
    if overflow is not None:
        return result(0, "output_limit", started, f"{overflow.name} exceeded the output limit")
    return _judge_check(report, finished, status, cand_err, check_err, started, candidate)


def _judge_check(report: Stream, finished: bool, status: int, cand_err: Stream, check_err: Stream,
                 started: float, candidate: Execution) -> dict:
    try:
        outcome = json.loads(bytes(report.data))
    except ValueError:
        outcome = None
    if not isinstance(outcome, dict):
        if not finished:
            return result(0, "timeout", started)
        return result(0, "unverifiable", started, f"the checker failed: {tail(check_err)}")
    kind, message = outcome.get("kind"), str(outcome.get("message", ""))
    if outcome.get("status") == "passed":
        if outcome.get("calls") == 0:  # `assert True`, or a check that never reaches the candidate
            return result(0, "vacuous_tests", started, "the tests passed without calling the candidate")
        return result(0, "passed", started)
    if kind == "harness":
        return result(0, "unverifiable", started, message)
    if kind == "oversize":
        return result(0, "output_limit", started, message)
    if kind == "died":
        if status == 0 or status == 1 and not tail(cand_err):
            return result(0, "runtime_error", started, message)
        reason = exit_reason(status, cand_err, candidate)
        return result(0, reason, started, f"{message} (status {status}): {tail(cand_err)}")
    if kind == "raised":
        return result(0, "runtime_error", started, message)
    return result(0, "wrong_output", started, message)
