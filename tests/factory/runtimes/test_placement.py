"""Where engines and units go (`factory.runtimes.placement`): the reservation of one engine for each shape of the
resources section, and the intake rule (free slots, redo first, verification backpressure). Pure: no Ray, no vLLM.
The GPU placement-group path is only tested here: this machine has no GPU."""

from __future__ import annotations

import pytest

from factory.recipe import load_recipe
from factory.runtimes.base import PreflightError
from factory.runtimes.placement import STRICT_PACK, Intake, PlacementError, engine_placement


def test_single_gpu_engine_is_a_plain_actor():
    plan = engine_placement(1, 1, 2)
    assert not plan.uses_group and (plan.num_cpus, plan.num_gpus, plan.resources) == (2, 1, {})
    assert plan.needs() == "2 CPU, 1 GPU"


def test_cpu_engine_is_a_plain_actor_even_with_tensor_parallelism():
    # vLLM's CPU build runs its ranks as processes on the actor's own node: nothing more to reserve.
    plan = engine_placement(2, 0, 1, {"engine": 1})
    assert not plan.uses_group and (plan.num_cpus, plan.num_gpus, plan.resources) == (1, 0, {"engine": 1.0})
    assert plan.needs() == "1 CPU, 0 GPU, 1 engine"


def test_tensor_parallel_engine_gets_one_gpu_bundle_per_rank_packed_on_one_node():
    plan = engine_placement(4, 4, 2, {"a100": 1})
    assert plan.uses_group and plan.strategy == STRICT_PACK == "STRICT_PACK"
    assert plan.bundles == [{"CPU": 2, "GPU": 1, "a100": 1}, {"GPU": 1}, {"GPU": 1}, {"GPU": 1}]
    # vLLM's Ray executor refuses bundles of more than one GPU and puts one worker in each GPU bundle.
    assert all(bundle["GPU"] == 1 for bundle in plan.bundles)
    # The actor runs in bundle 0 and holds no GPU itself; its CPUs and custom resources come out of that bundle.
    assert (plan.num_cpus, plan.num_gpus, plan.resources) == (2, 0, {"a100": 1})
    assert plan.needs() == "2 CPU, 4 GPU, 1 a100 on one node (4 bundles, STRICT_PACK)"


def test_tensor_parallel_engine_without_cpus_has_no_zero_cpu_entry():
    assert engine_placement(2, 2, 0).bundles == [{"GPU": 1}, {"GPU": 1}]


@pytest.mark.parametrize("gpus", [1, 2, 8])
def test_tensor_parallel_needs_one_gpu_per_rank(gpus):
    with pytest.raises(PlacementError, match="gpus_per_actor=4"):
        engine_placement(4, gpus, 1)


@pytest.mark.parametrize("resources", [{"GPU": 1}, {"CPU": 2}, {"engine": 0}, {"engine": -1}])
def test_engine_resources_must_be_positive_custom_resources(resources):
    with pytest.raises(PlacementError, match="engine_resources"):
        engine_placement(1, 0, 1, resources)


def test_the_ray_runtime_refuses_a_bad_shape_before_the_run_starts():
    from factory.runtimes.ray_runtime import RayRuntime

    recipe = load_recipe("tiny", ["resources.tensor_parallel_size=2", "resources.gpus_per_actor=1"])
    with pytest.raises(PreflightError, match="tensor_parallel_size=2"):
        RayRuntime._placement(recipe)


def test_recipe_keys_reach_the_placement():
    res = load_recipe("tiny", ["resources.engine_resources={engine: 1}", "resources.units_per_engine=3"]).resources
    assert res.units_per_engine == 3
    plan = engine_placement(res.tensor_parallel_size, res.gpus_per_actor, res.cpus_per_actor, res.engine_resources)
    assert plan.resources == {"engine": 1.0}


class Counted:
    """A work iterator that records how many units were pulled."""

    def __init__(self, n: int) -> None:
        self.n, self.pulled = n, 0

    def __iter__(self):
        for i in range(self.n):
            self.pulled += 1
            yield i


def test_units_go_to_free_slots_only_and_are_pulled_lazily():
    work = Counted(10)
    intake = Intake(work, per_engine=2, verify_limit=100)
    intake.joined(0)
    assert list(intake.assignments()) == [(0, 0), (0, 1)]
    assert work.pulled == 2 and list(intake.assignments()) == []  # no free slot: nothing pulled
    intake.joined(1)  # a late engine joins with its slots
    assert list(intake.assignments()) == [(1, 2), (1, 3)]
    intake.finished(1)  # whichever engine is free first takes the next unit
    intake.finished(0)
    assert list(intake.assignments()) == [(1, 4), (0, 5)]
    assert work.pulled == 6 and not intake.exhausted


def test_verification_backlog_pauses_intake():
    work = Counted(10)
    intake = Intake(work, per_engine=2, verify_limit=2)
    intake.joined(0)
    assert len(list(intake.assignments())) == 2
    for _ in range(2):  # both units out of generation, into verification
        intake.finished(0)
        intake.verification_started()
    assert list(intake.assignments()) == [] and work.pulled == 2, "a slow verifier must slow intake"
    intake.verification_done()  # room again: the free slots fill
    assert list(intake.assignments()) == [(0, 2), (0, 3)]


def test_a_lost_engines_unit_goes_first_to_the_next_free_engine():
    intake = Intake(range(10), per_engine=1, verify_limit=10)
    intake.joined(0)
    intake.joined(1)
    assert list(intake.assignments()) == [(0, 0), (1, 1)]
    intake.left(0)
    intake.finished(0)
    intake.redo(0)
    assert list(intake.assignments()) == []  # engine 0 is gone, engine 1 busy
    intake.finished(1)
    assert list(intake.assignments()) == [(1, 0)]  # the lost unit before any new one
    intake.joined(0)  # back after its restart
    assert list(intake.assignments()) == [(0, 2)]


def test_drained_only_when_the_work_ended_and_nothing_waits_for_a_redo():
    intake = Intake(range(1), per_engine=2, verify_limit=10)
    intake.joined(0)
    assert list(intake.assignments()) == [(0, 0)]
    assert intake.exhausted and intake.drained
    intake.left(0)
    intake.finished(0)
    intake.redo(0)
    assert not intake.drained
    intake.joined(0)
    assert list(intake.assignments()) == [(0, 0)] and intake.drained


def test_an_engine_back_with_calls_still_running_gets_only_its_free_slots():
    intake = Intake(range(10), per_engine=2, verify_limit=10)
    intake.joined(0)
    assert len(list(intake.assignments())) == 2
    intake.left(0)
    intake.finished(0)  # one call failed; the other is still running
    intake.joined(0)
    assert list(intake.assignments()) == [(0, 2)]
