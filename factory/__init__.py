"""r1-distill-factory: rejection-sampled reasoning traces, verified, written as sharded Parquet for SFT.

`import factory` stays light: vLLM, Ray, sympy and langdetect are imported only by the modules that use them.
"""

__version__ = "0.2.0"
