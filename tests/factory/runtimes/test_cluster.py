"""The Ray runtime on a real multi-node Ray cluster: Ray's own `ray.cluster_utils.Cluster`, several raylets on this
machine, each a node with its own resources. The head (CPUs only) holds the drivers and the verifiers; worker nodes
carry the custom resource `engine`, and the runs ask for it (`resources.engine_resources={engine: 1}`), so engines
are pinned to worker nodes.

- The scheduler with stand-in actors (no vLLM): late engines join, a lost engine's unit is redone elsewhere, a slow
  verifier slows intake, every unit is committed exactly once.
- Two real vLLM CPU engines on one machine (a local Ray, the CLI as a user runs it) share the work; that run is the
  reference of the next test.
- A node added mid-run gets an engine and work; then the node of the first engine is removed mid-run: its units are
  redone by the engine on the new node and the rows are exactly those of the reference.

At most two vLLM engines are alive at once (each about 2 GiB with its KV cache). `max_num_seqs: 2` keeps each
engine slow enough that a node added after the first commit still finds work left on this 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from tests.conftest import TINY_TEACHER, events_of

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

pytestmark = pytest.mark.slow

PROMPTS, N, PER_UNIT = 16, 4, 2
UNITS = PROMPTS // PER_UNIT
FLAGS = ["generate", "--recipe", "tiny", "--model", str(TINY_TEACHER), "--limit", str(PROMPTS), "--n", str(N),
         "--set", f"output.prompts_per_shard={PER_UNIT}", "--set", "resources.gpus_per_actor=0",
         "--set", "resources.verify_cpus=1", "--set", "resources.engine_actors=2",
         "--set", "resources.engine_resources={engine: 1}",
         "--set", "resources.engine_kwargs={max_model_len: 1024, dtype: float32, max_num_seqs: 2}", "--log-json"]
STORE = 128 * 2**20


@pytest.fixture(scope="module")
def cluster():
    """A head node with CPUs only (no `engine` resource): this test process and the CLI drivers connect to it."""
    head = {"num_cpus": 2, "object_store_memory": STORE, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, connect=True, head_node_args=head)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def add_engine_node(cluster: Cluster, engines: int = 1):
    # Two CPUs: the engine takes one; a verifier Ray puts here may take the other (and moves if the node goes).
    node = cluster.add_node(num_cpus=2, resources={"engine": engines}, object_store_memory=STORE)
    cluster.wait_for_nodes()
    return node


def start_cli(out: Path, *extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.Popen([sys.executable, "-m", "factory.cli", *FLAGS, *extra, "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, list[dict], str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, events_of(out), err


def markers(out: Path) -> list[dict]:
    folder = out / ".factory" / "units"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):  # being written right now
            pass
    return found


def wait_until(proc: subprocess.Popen, what: str, check, timeout: float = 400):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: exit {proc.returncode}\n{proc.stderr.read()[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def samples(run_dir: Path) -> list[tuple[str, int]]:
    """(prompt_id, sample_index) of every row of the sample splits (not pairs)."""
    rows = []
    for path in sorted((run_dir / "data").glob("[ar]*/part-*.parquet")):
        table = pq.read_table(path, columns=["prompt_id", "sample_index"])
        rows += zip(table.column("prompt_id").to_pylist(), table.column("sample_index").to_pylist())
    return rows


def engines_of(run_dir: Path) -> dict[int, int]:
    """unit -> index of the engine that generated it (the commit figures carry it into the marker)."""
    return {m["unit"]: m["seconds"]["engine"] for m in markers(run_dir)}


# --- the scheduler, with stand-in actors -------------------------------------------------------------------------


class FakeEngine:
    """Answers like a GenerationActor. `dies_on`: the call number on which the process exits (a lost node)."""

    def __init__(self, start_s: float = 0.0, dies_on: int = 0) -> None:
        time.sleep(start_s)
        self.calls, self.dies_on = 0, dies_on

    def ready(self) -> bool:
        return True

    def counters(self) -> dict:
        return {}

    def generate(self, unit, prompts, sampling, first_index=0):
        self.calls += 1
        if self.calls == self.dies_on:
            os._exit(1)
        time.sleep(0.05)
        return unit, [f"{unit}:{os.getpid()}"], 0.05

    def close(self) -> None:
        pass


class SlowVerifier:
    def verify(self, unit, prompts, completions):
        time.sleep(0.3)
        return unit, completions, 0.3

    def close(self) -> None:
        pass


def test_scheduler_joins_late_engines_redoes_lost_units_and_paces_intake(cluster, tmp_path):
    from factory.recipe import load_recipe
    from factory.engines.base import SamplingConfig
    from factory.prompts.unit_stream import WorkUnit
    from factory.runtimes.ray_runtime import VERIFY_QUEUED_PER_ACTOR, RayRuntime

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    recipe = load_recipe("tiny", ["resources.units_per_engine=2", "resources.wait_timeout_s=60"])
    runtime = RayRuntime(cluster.address)
    runtime._recipe, runtime._sampling = recipe, SamplingConfig.of(recipe.generation)
    engine = ray.remote(FakeEngine).options(num_cpus=0, max_restarts=1, max_task_retries=0, max_concurrency=3)
    # Engine 0 is lost on its 4th call, comes back once, and is lost again; engine 1 starts 3 s late and joins.
    runtime.engines = [engine.remote(dies_on=4), engine.remote(start_s=3.0)]
    runtime.verifiers = [ray.remote(SlowVerifier).options(num_cpus=0).remote()]
    runtime.serving = {0}
    runtime._joining = {runtime.engines[1].ready.remote(): 1}
    events, pulled, committed, in_flight = [], [], [], []

    def work():
        for unit in range(24):
            pulled.append(unit)
            in_flight.append(len(pulled) - len(committed))
            yield WorkUnit(unit, [])

    def commit(unit, result, figures):
        committed.append((unit, figures["engine"]))

    runtime._event = lambda kind, **fields: events.append((kind, fields.get("message", "")))
    try:
        runtime.run(work(), commit)
    finally:
        runtime.close()
    assert sorted(u for u, _ in committed) == list(range(24)), "every unit committed exactly once"
    assert {e for _, e in committed} == {0, 1}, "the late engine got work"
    assert any("engine 0 lost" in m for k, m in events if k == "warning"), events
    # Its restart is used up by the second loss: the run goes on without it.
    assert any("engine 0 is gone for good" in m for k, m in events if k == "warning"), events
    assert any("engine 1 joined" in m for _, m in events) and any("engine 0 joined" in m for _, m in events)
    # Backpressure: units in flight never exceed the engines' slots plus the verification backlog.
    assert max(in_flight) <= 2 * 2 + VERIFY_QUEUED_PER_ACTOR, in_flight


# --- real vLLM engines -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_engine_run(tmp_path_factory):
    """Two engine actors on one machine: a local Ray started by the CLI (it gives itself the engine resources)."""
    out = tmp_path_factory.mktemp("local") / "run"
    code, events, err = finish(start_cli(out))
    assert code == 0, err[-3000:]
    return out, events


def test_two_engines_on_one_machine_share_the_work(two_engine_run):
    out, events = two_engine_run
    assert events[-1]["event"] == "summary" and events[-1]["complete"]
    rows = samples(out)
    assert len(rows) == len(set(rows)) == PROMPTS * N
    by_engine = engines_of(out)
    assert sorted(by_engine) == list(range(UNITS))
    assert set(by_engine.values()) == {0, 1}, f"one engine did all the work: {by_engine}"


def test_a_node_added_mid_run_gets_work_and_a_lost_nodes_units_are_redone(cluster, two_engine_run, tmp_path):
    """One engine node at the start: engine A starts there and the run begins; the other engine waits for room.
    After the first commit a second node joins and engine B is placed there; then A's node is removed with A's
    units in flight. A cannot come back (no node has room), so the run waits for B, which redoes A's units first
    and does the rest; the rows are exactly those of the reference run."""
    reference = sorted(samples(two_engine_run[0]))
    started = time.time()
    first = add_engine_node(cluster)
    out = tmp_path / "run"
    proc = start_cli(out, "--ray-address", cluster.address)
    second = None
    try:
        wait_until(proc, "the first commit", lambda: engines_of(out))
        a = engines_of(out)[min(engines_of(out))]
        second = add_engine_node(cluster)
        wait_until(proc, "engine B placed on the new node", lambda: ray.available_resources().get("engine", 0) == 0)
        before = engines_of(out)
        assert len(before) < UNITS, "the run finished before the node could be removed; the test proved nothing"
        cluster.remove_node(first)
        first = None
        code, events, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        for node in (first, second):
            if node is not None:
                cluster.remove_node(node)
    assert code == 0, err[-3000:]
    notes = [e["message"] for e in events if e["event"] in ("warning", "engines_ready", "waiting")]
    lost = [m for m in notes if f"engine {a} lost" in m]
    assert lost, notes
    assert any(f"engine {1 - a} joined" in m for m in notes), notes
    redone = {int(m.split("unit ")[1][:5]) for m in lost}
    after = engines_of(out)
    assert sorted(after) == list(range(UNITS))
    assert redone and all(after[u] == 1 - a for u in redone), (redone, after)
    assert all(after[u] == 1 - a for u in set(after) - set(before)), "the new node's engine did the rest"
    rows = samples(out)
    assert len(rows) == len(set(rows)), "a sample written twice"
    assert sorted(rows) == reference
    assert not wait_for_no_engines(since=started), "a vLLM engine process outlived its node"


def wait_for_no_engines(since: float, timeout: float = 30) -> list[int]:
    """vLLM EngineCore processes started since `since` that are still alive after `timeout` (this test holds the
    machine's vLLM lock, so any such process is one of ours)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for proc in psutil.process_iter(["cmdline", "create_time"]):
            if "EngineCore" in " ".join(proc.info["cmdline"] or []) and (proc.info["create_time"] or 0) >= since:
                alive.append(proc.pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.5)
