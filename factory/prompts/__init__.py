"""Prompts: sources read as a stream, gold screening, curation before generation, and the unit stream."""
