"""The tiny judge: a small model trained on CPU to judge arithmetic answer equivalence, shipped in
`data/models/tiny-judge` so the judge stage runs on a laptop and in the tests with a real model. `pairs` draws the
data, `train` rebuilds the model, `evaluate` scores it against the math verifier on pairs it was not trained on.
Developer tools (like `factory.tiny_teacher`): nothing here is imported by the pipeline."""
