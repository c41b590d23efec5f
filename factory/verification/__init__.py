"""Verification of generated samples: the verifier chain per unit, then selection (distinct samples, the band, k kept, pairs)."""
