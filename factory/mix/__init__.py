"""`factory mix`: one SFT corpus from several sources (run folders, Parquet or JSONL corpora, Hub datasets).

`load_mixture(path)` reads a mixture file (`factory.mix.settings`), `mix(mixture, out)` writes the corpus
(`factory.mix.run`): cross-source prompt dedup and decontamination of the union (curation's), each source's rows
drawn by weight or count (seeded), one seeded shuffle, sharded Parquet with a provenance column, and a card with
the mixture table. Resumable after `kill -9`; bounded memory (see `factory.mix.scan` and `factory.mix.write`).
"""

from factory.mix.run import MixResult, mix
from factory.mix.settings import Mixture, MixSource, MixtureError, load_mixture

__all__ = ["MixResult", "MixSource", "Mixture", "MixtureError", "load_mixture", "mix"]
