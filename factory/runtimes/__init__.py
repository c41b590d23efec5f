"""Runtimes: what turns a run's work units into verified units, behind one interface (`base.Runtime`).

- `ray_runtime.RayRuntime`: engines (vLLM, or an OpenAI-compatible HTTP teacher) in Ray actors, verification in
  separate CPU actors, generation of unit k+1 overlapping verification of unit k (`factory generate`).
- `replay.ReplayRuntime`: traces made elsewhere, verified in this process (`factory verify`).

Both hand finished units to the same commit callback, so both commands share one commit, resume and stats path.
"""
